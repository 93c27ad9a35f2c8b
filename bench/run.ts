// `npm run -s bench [-- --quick] [--only rest,batch,...] [--out FILE] [--cpu-prof DIR]`
//
// One run, one PostgreSQL (embedded, or the server of DATABASE_URL): pgbench's
// one-INSERT-per-commit ceiling, pg-boss and graphile-worker (enqueue, no-op drain), and
// this service as `npm start` runs it (REST and batch enqueue, dispatch to a fake
// provider over HTTP, end-to-end lag at a steady rate, claim cost with a big table, peak
// RSS). Prints one JSON document on stdout and the ratios against the issue's targets
// on stderr. Compare ratios within a run: absolute figures on a shared machine are noise.
// Each phase also reports who used the cores while it ran (`cpu`: service, postgres,
// this process, anyone else), so a figure taken while something else ran shows it.
//
// Settings of the service may be given in the environment (e.g. DISPATCH_CONCURRENCY);
// the bench sets only what it must (database, provider, port, role). `--cpu-prof` writes
// the service's V8 profiles; `node --import tsx bench/profile-summary.ts FILE` reads one.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os, { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { applyMigrations } from '../src/db/migrations.ts'
import { startCpuMeter, waitForQuietMachine, type CpuMeter, type CpuShare } from './cpu.ts'
import { benchGraphileWorker, benchPgBoss, type QueueFigures } from './competitors.ts'
import { startFarEnd } from './far-end-process.ts'
import { history, type HistoryFigures } from './history.ts'
import { round } from './measure.ts'
import {
  batchEnqueue,
  claimCost,
  dispatch,
  emptyOutbox,
  endToEndLag,
  restEnqueue,
  type ClaimFigures,
  type DispatchFigures,
  type EnqueueFigures,
  type LagFigures,
} from './outbox.ts'
import { findPgbench, openBenchServer, pgbench, sql } from './postgres.ts'
import { ratiosOf, ratioTable, type Ratio } from './report.ts'
import { scaleOut, type ScaleOutFigures } from './scale-out.ts'
import { startService, type BenchService } from './service.ts'

const PHASES = ['pgbench', 'pg-boss', 'graphile-worker', 'rest', 'batch', 'dispatch', 'dispatch-batch', 'dispatch-many', 'lag', 'claim', 'scale', 'history'] as const
type Phase = (typeof PHASES)[number]

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    /** Comma-separated phases, to iterate on one; ratios need the phases they compare. */
    only: { type: 'string' },
    out: { type: 'string' },
    /** Writes the service's V8 CPU profiles (one per role) under this directory. */
    'cpu-prof': { type: 'string' },
  },
})
const only = args.only?.split(',') ?? [...PHASES]
for (const phase of only) {
  if (!PHASES.includes(phase as Phase)) throw new Error(`--only: unknown phase ${phase} (phases: ${PHASES.join(', ')})`)
}
const runs = (phase: Phase) => only.includes(phase)

/** Sizes of one run; `--quick` checks that the bench works, in well under a minute. */
const SIZES = args.quick
  ? { seconds: 1, warmupSeconds: 1, jobs: 1_000, dispatch: 2_000, lagSeconds: 2, lagWarmupSeconds: 1, lagRate: 200, claimIterations: 40, sentRows: 20_000, historyRows: 100_000, pgbenchSeconds: 1, scaleOut: [1, 2], rateLimit: { perSecond: 200, messages: 400, dispatchers: 2 } }
  : { seconds: 10, warmupSeconds: 2, jobs: 20_000, dispatch: 20_000, lagSeconds: 10, lagWarmupSeconds: 3, lagRate: 1_000, claimIterations: 500, sentRows: 1_000_000, historyRows: 10_000_000, pgbenchSeconds: 10, scaleOut: [1, 2, 4], rateLimit: { perSecond: 1_000, messages: 10_000, dispatchers: 4 } }
const CONNECTIONS = 32
const CALLERS = 16
const BATCH_SIZE = 1_000
const BATCH_CONNECTIONS = 4
const CLAIM_BATCH = 100

export interface BenchResult {
  command: string
  quick: boolean
  phases: string[]
  startedAt: string
  machine: { cpus: number; node: string; postgres: string; server: string }
  /** The service's settings that the run's environment changed from the defaults. */
  serviceEnv: Record<string, string>
  pgbench?: {
    clients: number
    seconds: number
    insertsPerSecond: number | null
    withTriggerPerSecond: number | null
    skipped?: string
    cpu?: CpuShare
  }
  pgBoss?: QueueFigures
  graphileWorker?: QueueFigures
  outbox: {
    restEnqueue?: EnqueueFigures
    batchEnqueue?: EnqueueFigures & { batchSize: number }
    /** One message per provider call: the webhook. */
    dispatch?: DispatchFigures
    /** Many messages per webhook call: the batch contract, SMS_WEBHOOK_BATCH_SIZE=500. */
    dispatchBatch?: DispatchFigures
    /** Many messages per provider call: SOLAPI's send-many/detail. */
    dispatchMany?: DispatchFigures
    lag?: LagFigures
    claim?: ClaimFigures
    scaleOut?: ScaleOutFigures
    /** Hot path with old terminal rows in the table, and the pruner deleting them. */
    history?: HistoryFigures
    /** VmHWM of the service process of each role that ran, and the largest. */
    peakRssMB?: { api?: number; worker?: number; all?: number; max: number }
  }
  ratios: Ratio[]
}

const log = (line: string) => process.stderr.write(`bench: ${line}\n`)
const runId = randomBytes(4).toString('hex')
const workDir = mkdtempSync(join(tmpdir(), 'sms-outbox-bench-run-'))
const startedAt = new Date().toISOString()
const SERVICE_SETTINGS = /^(DISPATCH_|POLL_|DATABASE_POOL|LOG_LEVEL|LEASE_MS|PROVIDER_TIMEOUT|SOLAPI_BATCH_SIZE|SMS_WEBHOOK_BATCH_SIZE|NODE_OPTIONS)/
const serviceEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => SERVICE_SETTINGS.test(name))) as Record<string, string>

/**
 * Before each phase: PostgreSQL checkpointed and without autovacuum work, and up to a
 * minute for the machine to be quiet (other jobs share it). Not in a quick run.
 */
const quiet = async () => {
  if (args.quick) return
  await server.settle(30_000)
  const waited = await waitForQuietMachine(60_000)
  if (waited > 1) log(`waited ${waited.toFixed(0)} s for the machine to be quiet`)
}

const server = await openBenchServer(process.env.DATABASE_URL, runId)
const provider = await startFarEnd()
/** Who used the cores while a phase ran: the service's share is that of `servicePid`. */
const meter = (servicePid?: number | number[]) => startCpuMeter({ servicePid, postgresPid: server.pid, farEndPid: provider.pid })
const webhookEnv = { SMS_PROVIDER: 'webhook', SMS_WEBHOOK_URL: provider.url }
const WEBHOOK_BATCH_SIZE = 500
const solapiEnv = {
  SMS_PROVIDER: 'solapi',
  SOLAPI_BASE_URL: provider.solapiBaseUrl,
  SOLAPI_API_KEY: 'NCSBENCHKEY',
  SOLAPI_API_SECRET: 'bench-secret',
  SMS_FROM: '02-1234-5678',
  // The bench measures sending; its fake does not speak the message list receipts are polled from.
  RECEIPT_POLL_INTERVAL_MS: '0',
}
let service: BenchService | undefined
let failed = false
try {
  log(`PostgreSQL ${server.version} (${server.kind}); work files in ${workDir}`)
  const result: Omit<BenchResult, 'ratios'> = {
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    quick: args.quick,
    phases: only,
    startedAt,
    machine: { cpus: os.availableParallelism(), node: process.version, postgres: server.version, server: server.kind },
    serviceEnv,
    outbox: {},
  }

  if (runs('pgbench')) {
    await quiet()
    log(`pgbench: one INSERT per commit, ${CONNECTIONS} clients, ${SIZES.pgbenchSeconds} s`)
    result.pgbench = await measurePgbench()
  }
  if (runs('pg-boss')) {
    await quiet()
    log(`pg-boss: ${SIZES.jobs} jobs from ${CALLERS} callers, then a no-op drain`)
    const url = await server.createDatabase('pgboss')
    result.pgBoss = await benchPgBoss(url, { jobs: SIZES.jobs, callers: CALLERS, meter, settle: quiet })
    await server.dropDatabase(url)
  }
  if (runs('graphile-worker')) {
    await quiet()
    log(`graphile-worker: ${SIZES.jobs} jobs from ${CALLERS} callers, then no-op drains`)
    const url = await server.createDatabase('graphile')
    result.graphileWorker = await benchGraphileWorker(url, { jobs: SIZES.jobs, callers: CALLERS, meter, settle: quiet })
    await server.dropDatabase(url)
  }

  const databaseUrl = await server.createDatabase('outbox')
  await applyMigrations(databaseUrl)
  const rss: Record<string, number> = {}
  const withService = async <T>(
    role: 'api' | 'worker' | 'all',
    work: (service: BenchService, meter: () => CpuMeter) => Promise<T>,
    providerEnv: Record<string, string> = webhookEnv,
  ) => {
    await emptyOutbox(databaseUrl)
    const name = `${role}-${providerEnv.SMS_PROVIDER}`
    service = await startService(
      { DATABASE_URL: databaseUrl, ROLE: role, ...providerEnv, ...serviceEnv },
      { logFile: join(workDir, `service-${name}.log`), cpuProfileDir: args['cpu-prof'] && join(args['cpu-prof'], name) },
    )
    const running = service
    try {
      await quiet()
      return await work(running, () => meter(running.pid))
    } finally {
      rss[role] = Math.max(rss[role] ?? 0, service.peakRssMB())
      await service.stop()
      service = undefined
    }
  }

  if (runs('rest') || runs('batch')) {
    await withService('api', async (api, meter) => {
      if (runs('rest')) {
        log(`REST enqueue: ${CONNECTIONS} connections, ${SIZES.seconds} s`)
        result.outbox.restEnqueue = await restEnqueue(api.url, {
          connections: CONNECTIONS,
          seconds: SIZES.seconds,
          warmupSeconds: SIZES.warmupSeconds,
        }, meter, databaseUrl)
      }
      if (runs('batch')) {
        if (runs('rest')) await quiet()
        log(`batch enqueue: ${BATCH_SIZE} messages per request, ${BATCH_CONNECTIONS} connections, ${SIZES.seconds} s`)
        result.outbox.batchEnqueue = await batchEnqueue(api.url, {
          connections: BATCH_CONNECTIONS,
          seconds: SIZES.seconds,
          warmupSeconds: SIZES.warmupSeconds,
          batchSize: BATCH_SIZE,
        }, meter, databaseUrl)
      }
    })
  }
  // Each drain is measured on a warm worker, after one unmeasured drain of as many: a
  // worker runs for days, and a fresh process compiles its hot paths as it goes (in the
  // run of 2026-12-07 14:33, a cold worker drained at 4,320 msg/s where the scale phase's
  // warm one drained at 6,720). The queues' phases warm up too, as REST and lag do.
  const warmDispatch = async (meter: () => CpuMeter) => {
    await dispatch(databaseUrl, provider, { messages: SIZES.dispatch }, meter)
    await emptyOutbox(databaseUrl)
    await quiet()
    return dispatch(databaseUrl, provider, { messages: SIZES.dispatch }, meter)
  }
  if (runs('dispatch')) {
    log(`dispatch: ${SIZES.dispatch} due messages through the fake webhook, one per call`)
    result.outbox.dispatch = await withService('worker', (_, meter) => warmDispatch(meter))
  }
  if (runs('dispatch-batch')) {
    log(`dispatch-batch: ${SIZES.dispatch} due messages through the fake webhook's batch form, ${WEBHOOK_BATCH_SIZE} per call`)
    result.outbox.dispatchBatch = await withService('worker', (_, meter) => warmDispatch(meter), {
      ...webhookEnv,
      SMS_WEBHOOK_BATCH_SIZE: String(WEBHOOK_BATCH_SIZE),
    })
  }
  if (runs('dispatch-many')) {
    log(`dispatch-many: ${SIZES.dispatch} due messages through the fake SOLAPI send-many/detail`)
    result.outbox.dispatchMany = await withService('worker', (_, meter) => warmDispatch(meter), solapiEnv)
  }
  if (runs('lag')) {
    log(`end-to-end lag: ${SIZES.lagRate} msg/s for ${SIZES.lagWarmupSeconds} s of warm-up and ${SIZES.lagSeconds} s, API and dispatcher in one process`)
    result.outbox.lag = await withService('all', (all, meter) =>
      endToEndLag(all.url, provider, { ratePerSecond: SIZES.lagRate, seconds: SIZES.lagSeconds, warmupSeconds: SIZES.lagWarmupSeconds }, meter, databaseUrl),
    )
  }
  if (Object.keys(rss).length > 0) result.outbox.peakRssMB = { ...rss, max: Math.max(...Object.values(rss)) }
  if (runs('claim')) {
    await quiet()
    log(`claim cost: ${SIZES.claimIterations} claims of ${CLAIM_BATCH} on an empty table, then with ${SIZES.sentRows} sent rows`)
    result.outbox.claim = await claimCost(databaseUrl, { batch: CLAIM_BATCH, iterations: SIZES.claimIterations, sentRows: SIZES.sentRows })
  }

  if (runs('scale')) {
    log(`scale-out: ${SIZES.dispatch} due messages drained by ${SIZES.scaleOut.join(', ')} worker processes, then ${SIZES.rateLimit.messages} under PROVIDER_RATE_LIMIT=${SIZES.rateLimit.perSecond} with ${SIZES.rateLimit.dispatchers}`)
    result.outbox.scaleOut = await scaleOut(databaseUrl, provider, {
      dispatcherCounts: SIZES.scaleOut,
      messages: SIZES.dispatch,
      rateLimit: SIZES.rateLimit,
      env: { DATABASE_URL: databaseUrl, ...webhookEnv, ...serviceEnv },
      workDir,
      meter,
      settle: quiet,
    })
  }

  if (runs('history')) {
    log(`history: claim, REST enqueue and a drain of ${SIZES.dispatch} on an empty table, then with ${SIZES.historyRows} old terminal rows; then a drain while the pruner deletes them`)
    result.outbox.history = await history(databaseUrl, provider, {
      historyRows: SIZES.historyRows,
      drain: SIZES.dispatch,
      claim: { batch: CLAIM_BATCH, iterations: SIZES.claimIterations },
      rest: { connections: CONNECTIONS, seconds: SIZES.seconds, warmupSeconds: SIZES.warmupSeconds },
      env: { ...webhookEnv, ...serviceEnv },
      workDir,
      meter: (servicePid) => () => meter(servicePid),
      settle: quiet,
    })
  }

  const complete: BenchResult = { ...roundAll(result), ratios: ratiosOf(result) }
  const json = JSON.stringify(complete, null, 2)
  if (args.out) writeFileSync(args.out, `${json}\n`)
  process.stdout.write(`${json}\n`)
  process.stderr.write(`\n${ratioTable(complete.ratios)}\n`)
} catch (error) {
  failed = true
  throw error
} finally {
  await service?.stop()
  await provider.close()
  await server.close()
  // The services' logs are kept when something went wrong.
  if (!failed) rmSync(workDir, { recursive: true, force: true })
}

/**
 * pgbench, 32 clients, each committing one INSERT of a message row (with an id of the
 * service's kind) at a time: into a table shaped like `messages` (same columns,
 * constraints and indexes) without its NOTIFY trigger, the ceiling; and into `messages`
 * itself, trigger and all.
 */
async function measurePgbench(): Promise<NonNullable<BenchResult['pgbench']>> {
  const binary = findPgbench()
  const base = { clients: CONNECTIONS, seconds: SIZES.pgbenchSeconds }
  if (!binary) return { ...base, insertsPerSecond: null, withTriggerPerSecond: null, skipped: 'pgbench not found (set PGBENCH)' }
  const url = await server.createDatabase('pgbench')
  await applyMigrations(url)
  await sql(url, 'CREATE TABLE messages_plain (LIKE sms_outbox.messages INCLUDING ALL)')
  // The service's ids are time-ordered (UUIDv7); so are the ceiling's. PostgreSQL has
  // uuidv7() from 18; before, the same layout: the clock's milliseconds, version 7.
  const timeOrderedId = Number.parseInt(server.version, 10) >= 18
    ? 'uuidv7()'
    : `encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid`
  const script = (table: string) => {
    const file = join(workDir, `${table.replace('.', '-')}.sql`)
    writeFileSync(
      file,
      `INSERT INTO ${table} (id, recipient, body, type, bytes, max_retries, next_attempt_at, expires_at)
       VALUES (${timeOrderedId}, '+821012345678', '[sms-outbox] 인증번호 [482913]를 입력해 주세요.', 'SMS', 43, 3, now(), now() + interval '1 day');\n`,
    )
    return file
  }
  const run = (table: string) => pgbench(binary, url, { script: script(table), clients: CONNECTIONS, threads: 2, seconds: SIZES.pgbenchSeconds })
  const cpu = meter()
  const insertsPerSecond = await run('messages_plain')
  const share = cpu.stop()
  await quiet()
  const withTriggerPerSecond = await run('sms_outbox.messages')
  await server.dropDatabase(url)
  return { ...base, insertsPerSecond, withTriggerPerSecond, cpu: share }
}

/** Every number to 3 significant digits, except counts. */
function roundAll<T>(value: T): T {
  if (typeof value === 'number') return (Number.isInteger(value) ? value : round(value)) as T
  if (Array.isArray(value)) return value.map(roundAll) as T
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, roundAll(inner)])) as T
  }
  return value
}
