import autocannon from 'autocannon'
import { connectDatabase } from '../src/db/database.ts'
import { claimDue } from '../src/outbox/dispatch/claim-due.ts'
import { recordOutcomes } from '../src/outbox/dispatch/record-outcomes.ts'
import { settle } from '../src/outbox/dispatch/settle.ts'
import type { CpuMeter, CpuShare } from './cpu.ts'
import type { FarEnd } from './far-end-process.ts'
import { quantile, waitUntil } from './measure.ts'
import { sql } from './postgres.ts'
import { MESSAGE } from './send-at-rate.ts'

// What a phase made: the rows of the last day. Older rows are the `history` phase's, which
// every count below leaves out.
const RECENT = `now() - interval '1 day'`

const FRESH_LIMITS = `UPDATE sms_outbox.provider_limits SET tokens = 0, refilled_at = now() - interval '1 hour';
  DELETE FROM sms_outbox.retry_budget_counts`

/** No messages, and every provider's rate limit and retry budget as fresh as a new install's. */
export const emptyOutbox = (url: string) =>
  sql(url, `TRUNCATE sms_outbox.messages, sms_outbox.message_attempts, sms_outbox.admin_actions CASCADE; ${FRESH_LIMITS}`)

/**
 * What `emptyOutbox` does, but to the rows of the last day only: the `history` phase's
 * old rows stay. VACUUM ANALYZE then, so that a measurement neither walks the dead rows of
 * the one before nor is planned on a table never analyzed (the history's are).
 */
export async function clearRecent(url: string): Promise<void> {
  await sql(url, `DELETE FROM sms_outbox.messages WHERE created_at > ${RECENT}; ${FRESH_LIMITS}`)
  await sql(url, 'VACUUM ANALYZE sms_outbox.messages')
  await sql(url, 'VACUUM ANALYZE sms_outbox.message_attempts')
}

/**
 * The messages a claim measurement made and recorded sent (this day's), deleted without a
 * VACUUM: between claims, so that each claim sees the table it is measured on and not the
 * thousands of rows the ones before it left.
 */
export const deleteMeasured = (url: string) => sql(url, `DELETE FROM sms_outbox.messages WHERE status = 'sent' AND created_at > ${RECENT}`)

async function load(options: autocannon.Options): Promise<autocannon.Result> {
  const result = await autocannon(options)
  if (result.errors > 0 || result.timeouts > 0) {
    throw new Error(`${options.url}: ${result.errors} errors, ${result.timeouts} timeouts`)
  }
  return result
}

/** Every 202 must stand for committed rows; a request still in flight when the run ended may add more. */
async function checkCommitted(databaseUrl: string, accepted: number): Promise<void> {
  const [{ n }] = await sql<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM sms_outbox.messages WHERE created_at > ${RECENT}`)
  if (n < accepted) throw new Error(`${accepted} messages were accepted but only ${n} rows are committed`)
}

export interface EnqueueFigures {
  /** Messages per INSERT statement (group commit at work). */
  rowsPerInsert: number
  connections: number
  seconds: number
  requests: number
  messagesPerSecond: number
  p50Ms: number
  p99Ms: number
  /** Answers other than 202. */
  non2xx: number
  cpu: CpuShare
}

/**
 * `POST /v1/messages`, one message per request, from `connections` keep-alive
 * connections as fast as the service answers (autocannon), after a warm-up. Fails
 * unless every 202 has its committed row.
 */
export async function restEnqueue(
  serviceUrl: string,
  { connections, seconds, warmupSeconds }: { connections: number; seconds: number; warmupSeconds: number },
  meter: () => CpuMeter,
  databaseUrl: string,
  clear: (url: string) => Promise<unknown> = emptyOutbox,
): Promise<EnqueueFigures> {
  const options = {
    url: `${serviceUrl}/v1/messages`,
    method: 'POST' as const,
    connections,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(MESSAGE),
  }
  await load({ ...options, duration: warmupSeconds })
  await clear(databaseUrl)
  const cpu = meter()
  const result = await load({ ...options, duration: seconds })
  const cpuShare = cpu.stop()
  await checkCommitted(databaseUrl, result['2xx'])
  return {
    cpu: cpuShare,
    rowsPerInsert: (await rowsPerStatement(databaseUrl)).insert,
    connections,
    seconds: result.duration,
    requests: result['2xx'],
    messagesPerSecond: result['2xx'] / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
  }
}

/** `POST /v1/messages/batch` with `batchSize` messages per request. */
export async function batchEnqueue(
  serviceUrl: string,
  { connections, seconds, warmupSeconds, batchSize }: { connections: number; seconds: number; warmupSeconds: number; batchSize: number },
  meter: () => CpuMeter,
  databaseUrl: string,
): Promise<EnqueueFigures & { batchSize: number }> {
  const options = {
    url: `${serviceUrl}/v1/messages/batch`,
    method: 'POST' as const,
    connections,
    timeout: 60,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: Array.from({ length: batchSize }, () => MESSAGE) }),
  }
  await load({ ...options, duration: warmupSeconds })
  await emptyOutbox(databaseUrl)
  const cpu = meter()
  const result = await load({ ...options, duration: seconds })
  const cpuShare = cpu.stop()
  await checkCommitted(databaseUrl, result['2xx'] * batchSize)
  return {
    cpu: cpuShare,
    rowsPerInsert: (await rowsPerStatement(databaseUrl)).insert,
    batchSize,
    connections,
    seconds: result.duration,
    requests: result['2xx'],
    messagesPerSecond: (result['2xx'] * batchSize) / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
  }
}

/** `count` due messages, inserted in one statement (its trigger wakes the dispatchers). */
export const insertDue = (url: string, count: number, text = 'bench dispatch') =>
  sql(
    url,
    `INSERT INTO sms_outbox.messages (recipient, body, type, bytes, max_retries, expires_at)
     SELECT '+821012345678', $2 || ' ' || g, 'SMS', 20, 3, now() + interval '1 day'
     FROM generate_series(1, $1::int) AS g`,
    [count, text],
  )

/**
 * Transaction ids handed out so far (the next one to be): one per transaction that wrote,
 * counted at once, in the whole server (the bench's, where only the phase writes while it
 * runs). pg_stat_database's commit counter lags (an idle backend publishes it up to 10 s
 * late) and counts every read-only poll too.
 */
export async function writeCount(url: string): Promise<number> {
  const [{ n }] = await sql<{ n: string }>(url, 'SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS n')
  return Number(n)
}

/**
 * Rows per statement, for each write of the hot path: every statement has one now(), so
 * distinct timestamps count statements. `insert`: created_at of the messages (group
 * commit); `record`: finished_at of the attempts. A claim leaves no timestamp of its own
 * (an attempt's started_at is its outcome write's now() less the call's latency), so
 * `claim` counts the writes of the phase (`writes`, from writeCount) that were neither:
 * the claims (one that found nothing writes nothing), and a sweep that took something
 * back. Without `writes`, `claim` is not measured (NaN).
 */
export async function rowsPerStatement(url: string, writes?: number): Promise<{ insert: number; claim: number; record: number }> {
  const [row] = await sql<{ rows: number; inserts: number; attempts: number; records: number }>(
    url,
    `SELECT (SELECT count(*)::float8 FROM sms_outbox.messages WHERE created_at > ${RECENT}) AS rows,
            (SELECT count(DISTINCT created_at)::float8 FROM sms_outbox.messages WHERE created_at > ${RECENT}) AS inserts,
            (SELECT count(finished_at)::float8 FROM sms_outbox.message_attempts WHERE started_at > ${RECENT}) AS attempts,
            (SELECT count(DISTINCT finished_at)::float8 FROM sms_outbox.message_attempts WHERE started_at > ${RECENT}) AS records`,
  )
  const claims = writes === undefined ? Number.NaN : writes - row.inserts - row.records
  return { insert: row.rows / row.inserts, claim: row.attempts / claims, record: row.attempts / row.records }
}

const sentCount = async (url: string) =>
  (await sql<{ n: number }>(url, `SELECT count(*)::int AS n FROM sms_outbox.messages WHERE status = 'sent' AND created_at > ${RECENT}`))[0].n

export interface DispatchFigures {
  messages: number
  seconds: number
  messagesPerSecond: number
  /** Transactions that wrote to the database, per message. */
  writesPerMessage: number
  /** Messages per claim statement and per outcome write (batched claims and group commit). */
  rowsPerStatement: { claim: number; record: number }
  /** Messages per provider call: 1, or a batch where the provider takes one. */
  messagesPerCall: number
  cpu: CpuShare
}

/**
 * With a dispatcher running and idle, `messages` due rows appear in one commit; measured
 * until the provider has them all and every row is recorded `sent`.
 */
export async function dispatch(
  databaseUrl: string,
  provider: FarEnd,
  { messages }: { messages: number },
  meter: () => CpuMeter,
): Promise<DispatchFigures> {
  const { received: before, requests: callsBefore } = await provider.counts()
  const writesBefore = await writeCount(databaseUrl)
  await insertDue(databaseUrl, messages)
  const cpu = meter()
  const started = performance.now()
  await provider.waitFor(before + messages, 600_000)
  await waitUntil(async () => (await sentCount(databaseUrl)) >= messages, 'every message is recorded sent', 600_000, 10)
  const seconds = (performance.now() - started) / 1000
  const cpuShare = cpu.stop()
  const messagesPerCall = messages / ((await provider.counts()).requests - callsBefore)
  const writes = (await writeCount(databaseUrl)) - writesBefore
  const { claim, record } = await rowsPerStatement(databaseUrl, writes)
  return {
    messages,
    seconds,
    messagesPerSecond: messages / seconds,
    writesPerMessage: writes / messages,
    rowsPerStatement: { claim, record },
    messagesPerCall,
    cpu: cpuShare,
  }
}

export interface LagFigures {
  ratePerSecond: number
  messages: number
  /** enqueue request sent -> the provider has the message */
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** Not counted: the first seconds of a fresh process (JIT, connections), at the same rate. */
  warmup: { seconds: number; p99Ms: number; maxMs: number }
  /** the enqueue requests' own latency at this rate */
  enqueueP50Ms: number
  enqueueP99Ms: number
  /** Transactions that wrote to the database, per message: inserts, claims, outcome writes. */
  writesPerMessage: number
  rowsPerStatement: { insert: number; claim: number; record: number }
  cpu: CpuShare
}

/**
 * End-to-end lag at a steady rate, to a service that also dispatches (the far end sends
 * and receives, stamping both on its clock; send-at-rate.ts). The first `warmupSeconds`
 * are reported apart: a fresh process lags up to a second for its first 1.5 s (JIT, pool
 * connections).
 */
export async function endToEndLag(
  serviceUrl: string,
  provider: FarEnd,
  rate: { ratePerSecond: number; seconds: number; warmupSeconds: number },
  meter: () => CpuMeter,
  databaseUrl: string,
): Promise<LagFigures> {
  const writesBefore = await writeCount(databaseUrl)
  let cpu: CpuMeter | undefined
  const { lags, warmupLags, enqueueMs } = await provider.sendAtRate({ serviceUrl, ...rate }, () => (cpu = meter()))
  const cpuShare = cpu!.stop()
  const writes = (await writeCount(databaseUrl)) - writesBefore
  return {
    warmup: { seconds: rate.warmupSeconds, p99Ms: quantile(warmupLags, 0.99), maxMs: Math.max(...warmupLags) },
    writesPerMessage: writes / (lags.length + warmupLags.length),
    rowsPerStatement: await rowsPerStatement(databaseUrl, writes),
    ratePerSecond: rate.ratePerSecond,
    messages: lags.length,
    p50Ms: quantile(lags, 0.5),
    p99Ms: quantile(lags, 0.99),
    maxMs: Math.max(...lags),
    enqueueP50Ms: quantile(enqueueMs, 0.5),
    enqueueP99Ms: quantile(enqueueMs, 0.99),
    cpu: cpuShare,
  }
}

export interface ClaimFigures {
  batch: number
  iterations: number
  emptyTable: { p50Ms: number; p99Ms: number }
  withSentRows: { sentRows: number; p50Ms: number; p99Ms: number }
}

/**
 * The dispatcher's claim statement (`claimDue`, through Prisma as the dispatcher runs it)
 * claiming `batch` due rows, timed alone: first on an empty table, then with `sentRows`
 * sent messages (and their attempts) in it. Each claimed batch is recorded sent with
 * `recordOutcomes`; on the empty table it is then deleted, so the table stays empty.
 */
export async function claimCost(
  databaseUrl: string,
  { batch, iterations, sentRows }: { batch: number; iterations: number; sentRows: number },
): Promise<ClaimFigures> {
  const claims = claimTimer(databaseUrl, batch)
  try {
    await emptyOutbox(databaseUrl)
    // Warm the plan cache and the connections.
    await claims.measure(20, async () => {})
    await emptyOutbox(databaseUrl)
    const emptyTable = await claims.measure(iterations, () => deleteMeasured(databaseUrl))

    await emptyOutbox(databaseUrl)
    await loadSentRows(databaseUrl, sentRows)
    const withSentRows = await claims.measure(iterations, async () => {})
    return { batch, iterations, emptyTable, withSentRows: { sentRows, ...withSentRows } }
  } finally {
    await claims.close()
  }
}

/**
 * Times the dispatcher's claim statement alone: `measure` inserts `batch` due rows, claims
 * them (`claimDue`, as the dispatcher runs it) and records them sent with `recordOutcomes`,
 * `iterations` times, calling `afterEach` after each, and returns the claims' quantiles.
 */
export function claimTimer(databaseUrl: string, batch: number) {
  const database = connectDatabase(databaseUrl, { poolSize: 2 })
  const claimOnce = async (): Promise<number> => {
    await insertDue(databaseUrl, batch, 'bench claim')
    const started = performance.now()
    const { messages: claimed } = await claimDue(database.pool, { limit: batch, leaseMs: 30_000, provider: 'webhook', probeIntervalMs: 60_000 })
    const elapsed = performance.now() - started
    if (claimed.length !== batch) throw new Error(`claimed ${claimed.length} of ${batch} due rows`)
    await recordOutcomes(
      database.pool,
      // As the dispatcher acks an ok (the backoff policy is unused).
      claimed.map((message) => settle(message, { kind: 'ok', httpStatus: 200 }, 1, { baseDelayMs: 1_000, maxDelayMs: 30_000, jitter: 'none' })),
    )
    return elapsed
  }
  return {
    async measure(iterations: number, afterEach: () => Promise<unknown>): Promise<{ p50Ms: number; p99Ms: number }> {
      const times: number[] = []
      for (let i = 0; i < iterations; i++) {
        times.push(await claimOnce())
        await afterEach()
      }
      return { p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99) }
    },
    close: () => database.close(),
  }
}

/** `count` messages sent over the last hours, each with its one attempt, then VACUUM ANALYZE (as autovacuum would). */
async function loadSentRows(url: string, count: number): Promise<void> {
  const chunk = 100_000
  for (let done = 0; done < count; done += chunk) {
    await sql(
      url,
      `WITH sent AS (
         INSERT INTO sms_outbox.messages (status, recipient, body, type, bytes, attempts, counted_attempts, max_retries,
                               next_attempt_at, created_at, updated_at, sent_at, expires_at, provider)
         SELECT 'sent', '+821012345678', 'bench old', 'SMS', 9, 1, 1, 3, t, t, t, t, t + interval '1 day', 'webhook'
         FROM (SELECT now() - (g * interval '10 milliseconds') AS t FROM generate_series($1::int, $2::int) AS g) AS s
         RETURNING id, sent_at
       )
       INSERT INTO sms_outbox.message_attempts (message_id, attempt, started_at, finished_at, outcome, http_status, latency_ms)
       SELECT id, 1, sent_at, sent_at, 'ok', 200, 1 FROM sent`,
      [done + 1, Math.min(count, done + chunk)],
    )
  }
  await sql(url, 'VACUUM ANALYZE sms_outbox.messages')
  await sql(url, 'VACUUM ANALYZE sms_outbox.message_attempts')
}
