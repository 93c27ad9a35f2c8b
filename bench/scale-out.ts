import { join } from 'node:path'
import { setTimeout } from 'node:timers/promises'
import pg from 'pg'
import type { CpuShare } from './cpu.ts'
import type { FarEnd } from './far-end-process.ts'
import { busiestSecond, waitUntil } from './measure.ts'
import { emptyOutbox, insertDue, rowsPerStatement, writeCount } from './outbox.ts'
import { sql } from './postgres.ts'
import { startService, type BenchService } from './service.ts'

export interface DrainFigures {
  dispatchers: number
  messages: number
  seconds: number
  messagesPerSecond: number
  /**
   * Backend-seconds spent waiting for a heavyweight lock (a row lock among them) during
   * the drain, from pg_stat_activity sampled every LOCK_SAMPLE_MS; and the same per message.
   */
  lockWait: { seconds: number; msPerMessage: number; samples: number }
  /** Messages per claim statement and per outcome write, over all the processes. */
  rowsPerStatement: { claim: number; record: number }
  cpu: CpuShare
}

export interface RateLimitFigures {
  dispatchers: number
  limitPerSecond: number
  /** PROVIDER_RATE_BURST as the service defaults it: a tenth of a second of the limit, at least 2. */
  burst: number
  messages: number
  messagesPerSecond: number
  /** Most messages the provider received in any one second (a sliding window over receipts). */
  busiestSecond: number
}

export interface ScaleOutFigures {
  drains: DrainFigures[]
  rateLimited: RateLimitFigures
}

interface ScaleOutOptions {
  dispatcherCounts: number[]
  messages: number
  rateLimit: { perSecond: number; messages: number; dispatchers: number }
  /** The environment every worker gets: database, provider and the run's service settings. */
  env: Record<string, string>
  workDir: string
  meter: (servicePids: number[]) => { stop(): CpuShare }
  settle: () => Promise<void>
}

/**
 * Many dispatcher processes (`ROLE=worker`) on one database, as `docker compose up
 * --scale worker=N` runs them: each count drains the same number of due messages; then
 * the most processes run under a shared PROVIDER_RATE_LIMIT, and the provider's receipts
 * show the busiest second. Every set of processes is warmed up first (`warmUp`).
 */
export async function scaleOut(
  databaseUrl: string,
  provider: FarEnd,
  { dispatcherCounts, messages, rateLimit, env, workDir, meter, settle }: ScaleOutOptions,
): Promise<ScaleOutFigures> {
  const drains: DrainFigures[] = []
  for (const dispatchers of dispatcherCounts) {
    drains.push(
      await withWorkers(dispatchers, env, workDir, async (workers) => {
        await warmUp(databaseUrl, provider, messages)
        await settle()
        const cpu = meter(workers.map((worker) => worker.pid))
        const lockWaits = sampleLockWaits(databaseUrl)
        const writesBefore = await writeCount(databaseUrl)
        const seconds = await drain(databaseUrl, provider, messages)
        const lockWait = await lockWaits.stop()
        const share = cpu.stop()
        const { claim, record } = await rowsPerStatement(databaseUrl, (await writeCount(databaseUrl)) - writesBefore)
        return {
          dispatchers,
          messages,
          seconds,
          messagesPerSecond: messages / seconds,
          lockWait: { ...lockWait, msPerMessage: (lockWait.seconds * 1000) / messages },
          rowsPerStatement: { claim, record },
          cpu: share,
        }
      }),
    )
  }

  const limited = { ...env, PROVIDER_RATE_LIMIT: String(rateLimit.perSecond) }
  const rateLimited = await withWorkers(rateLimit.dispatchers, limited, workDir, async () => {
    await warmUp(databaseUrl, provider, rateLimit.messages)
    const { result: seconds, receipts } = await provider.receiptsDuring(() => drain(databaseUrl, provider, rateLimit.messages))
    return {
      dispatchers: rateLimit.dispatchers,
      limitPerSecond: rateLimit.perSecond,
      burst: Math.max(2, Math.ceil(rateLimit.perSecond / 10)),
      messages: rateLimit.messages,
      messagesPerSecond: rateLimit.messages / seconds,
      busiestSecond: busiestSecond(receipts),
    }
  })
  return { drains, rateLimited }
}

async function withWorkers<T>(
  count: number,
  env: Record<string, string>,
  workDir: string,
  work: (workers: BenchService[]) => Promise<T>,
): Promise<T> {
  await emptyOutbox(env.DATABASE_URL)
  const workers: BenchService[] = []
  try {
    for (let i = 0; i < count; i += 1) {
      workers.push(await startService({ ...env, ROLE: 'worker' }, { logFile: join(workDir, `scale-${count}-worker-${i}.log`) }))
    }
    return await work(workers)
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()))
  }
}

const LOCK_SAMPLE_MS = 20

/**
 * Counts, every LOCK_SAMPLE_MS, the backends of the outbox's database waiting for a lock,
 * until stopped: the wait claims spend queued behind one another. One query per sample
 * from one connection, so the sampler costs little of the cores it shares.
 */
function sampleLockWaits(databaseUrl: string): { stop(): Promise<{ seconds: number; samples: number }> } {
  let waiting = 0
  let samples = 0
  let stopped = false
  const sampling = (async () => {
    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try {
      while (!stopped) {
        const { rows } = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        )
        waiting += rows[0].n
        samples += 1
        await setTimeout(LOCK_SAMPLE_MS)
      }
    } finally {
      await client.end()
    }
  })()
  return {
    async stop() {
      stopped = true
      await sampling
      return { seconds: (waiting * LOCK_SAMPLE_MS) / 1000, samples }
    },
  }
}

/**
 * One unmeasured drain of as many messages, then an empty outbox: a fresh process
 * compiles its hot paths as it goes, and N fresh processes compile them N times over,
 * which a deployment's long-running workers do once. Measured cold (before 2026-12-06
 * 22:00), each message cost 4 workers 2.3-2.5 times the CPU it cost one, and under the
 * rate limit the first second's slow calls bunched up at the provider (busiest second
 * 1,090-1,120 against 1,047-1,059 warm).
 */
async function warmUp(databaseUrl: string, provider: FarEnd, messages: number): Promise<void> {
  await drain(databaseUrl, provider, messages)
  await emptyOutbox(databaseUrl)
}

/** Seconds from `count` rows coming due (in one commit) to every one recorded sent. */
async function drain(databaseUrl: string, provider: FarEnd, count: number): Promise<number> {
  const { received: before } = await provider.counts()
  await insertDue(databaseUrl, count)
  const started = performance.now()
  await provider.waitFor(before + count, 600_000)
  await waitUntil(
    async () => (await sql<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM sms_outbox.messages WHERE status = 'sent'`))[0].n >= count,
    'every message is recorded sent',
    600_000,
    10,
  )
  return (performance.now() - started) / 1000
}
