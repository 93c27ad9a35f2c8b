import { run as runGraphileWorker, Logger as GraphileLogger, makeWorkerUtils } from 'graphile-worker'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { PgBoss } from 'pg-boss'
import type { CpuMeter, CpuShare } from './cpu.ts'
import { waitUntil } from './measure.ts'

/** One library's side of the comparison: enqueue from concurrent callers, then a no-op drain. */
export interface QueueFigures {
  version: string
  enqueue: { jobs: number; callers: number; seconds: number; jobsPerSecond: number; cpu: CpuShare }
  drain: DrainFigures
  /** graphile-worker only: the same drain with its batching options on. */
  drainBatched?: DrainFigures
}

export interface DrainFigures {
  jobs: number
  seconds: number
  jobsPerSecond: number
  settings: Record<string, unknown>
  cpu: CpuShare
}

export interface CompetitorOptions {
  jobs: number
  /** Concurrent enqueuing callers, each awaiting its own job before sending the next. */
  callers: number
  /** Starts measuring who used the CPU. */
  meter: () => CpuMeter
  /** Waits for a quiet machine and database before a measurement. */
  settle: () => Promise<void>
}

// graphile-worker's exports map hides its package.json from require.resolve.
const versionOf = (name: string) =>
  (JSON.parse(readFileSync(fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url)), 'utf8')) as {
    version: string
  }).version

/** `callers` loops that each enqueue one job at a time until `jobs` are in. */
async function enqueueConcurrently(jobs: number, callers: number, enqueue: (n: number) => Promise<unknown>) {
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < jobs) await enqueue(next++)
    }),
  )
  return (performance.now() - started) / 1000
}

/**
 * pg-boss: `send()` per job from concurrent callers, then a worker fetching batches of
 * `batchSize` (its documented batching, in burst mode while batches come back full).
 */
export async function benchPgBoss(url: string, { jobs, callers, meter, settle }: CompetitorOptions): Promise<QueueFigures> {
  const batchSize = 500
  // Maintenance and monitoring off: they only add background load to a short run.
  const boss = new PgBoss({ connectionString: url, max: callers, supervise: false, schedule: false })
  boss.on('error', (error: unknown) => console.error('pg-boss:', error))
  await boss.start()
  try {
    await boss.createQueue('bench')
    await boss.createQueue('warmup')
    await enqueueConcurrently(Math.min(500, jobs), callers, (n) => boss.send('warmup', { n }))
    await settle()
    const enqueueCpu = meter()
    const enqueueSeconds = await enqueueConcurrently(jobs, callers, (n) => boss.send('bench', { n }))
    const enqueueShare = enqueueCpu.stop()

    const pool = new pg.Pool({ connectionString: url, max: 1 })
    let handled = 0
    await settle()
    const drainCpu = meter()
    const started = performance.now()
    await boss.work('bench', { batchSize, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }, async (batch) => {
      handled += batch.length
    })
    await waitUntil(() => handled >= jobs, 'pg-boss handled every job', 600_000, 5)
    // A job is done when pg-boss has marked it completed, after the handler returned.
    await waitUntil(
      async () =>
        (await pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'bench' AND state = 'completed'`))
          .rows[0].n >= jobs,
      'pg-boss completed every job',
      600_000,
      10,
    )
    const drainSeconds = (performance.now() - started) / 1000
    const drainShare = drainCpu.stop()
    await pool.end()
    return {
      version: versionOf('pg-boss'),
      enqueue: { jobs, callers, seconds: enqueueSeconds, jobsPerSecond: jobs / enqueueSeconds, cpu: enqueueShare },
      drain: {
        jobs,
        seconds: drainSeconds,
        jobsPerSecond: jobs / drainSeconds,
        settings: { batchSize, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 },
        cpu: drainShare,
      },
    }
  } finally {
    await boss.stop({ graceful: false })
  }
}

const silent = new GraphileLogger(() => () => {})

/**
 * graphile-worker: `addJob()` per job from concurrent callers, then two no-op drains of
 * `jobs` jobs by a runner with `callers` concurrent jobs: as configured by default (each
 * job fetched and completed on its own: the figure the anchor matches), and with
 * its documented batching (a local queue of 500 jobs, completions batched).
 */
export async function benchGraphileWorker(url: string, { jobs, callers, meter, settle }: CompetitorOptions): Promise<QueueFigures> {
  const pool = new pg.Pool({ connectionString: url, max: callers + 2 })
  pool.on('error', (error) => console.error('graphile-worker pool:', error))
  pool.on('connect', (client) => client.on('error', (error) => console.error('graphile-worker client:', error)))
  const utils = await makeWorkerUtils({ pgPool: pool, logger: silent })
  try {
    await utils.migrate()
    await enqueueConcurrently(Math.min(500, jobs), callers, (n) => utils.addJob('warmup', { n }))
    await pool.query('DELETE FROM graphile_worker._private_jobs')
    await settle()
    const enqueueCpu = meter()
    const enqueueSeconds = await enqueueConcurrently(jobs, callers, (n) => utils.addJob('noop', { n }))
    const enqueueShare = enqueueCpu.stop()

    const drain = async (settings: { localQueueSize: number; completeJobBatchDelay: number }) => {
      let handled = 0
      await settle()
      const cpu = meter()
      const started = performance.now()
      const runner = await runGraphileWorker({
        pgPool: pool,
        logger: silent,
        concurrency: callers,
        noHandleSignals: true,
        crontab: '',
        taskList: { noop: async () => void (handled += 1) },
        preset: { worker: { localQueue: { size: settings.localQueueSize }, completeJobBatchDelay: settings.completeJobBatchDelay } },
      })
      try {
        await waitUntil(() => handled >= jobs, 'graphile-worker handled every job', 600_000, 5)
        // Completed jobs are deleted.
        await waitUntil(
          async () => (await pool.query(`SELECT count(*)::int AS n FROM graphile_worker._private_jobs`)).rows[0].n === 0,
          'graphile-worker completed every job',
          600_000,
          10,
        )
      } finally {
        await runner.stop()
      }
      const seconds = (performance.now() - started) / 1000
      return { jobs, seconds, jobsPerSecond: jobs / seconds, settings: { concurrency: callers, ...settings }, cpu: cpu.stop() }
    }
    const perJob = await drain({ localQueueSize: -1, completeJobBatchDelay: -1 })
    await utils.addJobs(Array.from({ length: jobs }, (_, n) => ({ identifier: 'noop', payload: { n } })))
    const batched = await drain({ localQueueSize: 500, completeJobBatchDelay: 0 })
    return {
      version: versionOf('graphile-worker'),
      enqueue: { jobs, callers, seconds: enqueueSeconds, jobsPerSecond: jobs / enqueueSeconds, cpu: enqueueShare },
      drain: perJob,
      drainBatched: batched,
    }
  } finally {
    await utils.release()
    await pool.end()
  }
}
