import autocannon from 'autocannon'
import pg from 'pg'
import { Pool } from 'undici'
import { connectDatabase } from '../src/db/database.ts'
import { claimDue } from '../src/outbox/dispatch/claim-due.ts'
import { recordOutcomes } from '../src/outbox/dispatch/record-outcomes.ts'
import { settle } from '../src/outbox/dispatch/settle.ts'
import type { CpuMeter, CpuShare } from './cpu.ts'
import type { FakeProvider } from './fake-provider.ts'
import { quantile, sleep, waitUntil } from './measure.ts'
import { sql } from './postgres.ts'

// A typical OTP text: Hangul, so the EUC-KR measuring runs as it does for real traffic.
const MESSAGE = { to: '010-1234-5678', text: '[sms-outbox] 인증번호 [482913]를 입력해 주세요.' }


// What a phase made: the rows of the last day. Older rows are the `history` phase's, which
// every count below leaves out.
const RECENT = `now() - interval '1 day'`

const FRESH_LIMITS = `UPDATE sms_outbox.provider_limits SET tokens = 0, refilled_at = now() - interval '1 hour', window_started_at = now(),
  first_attempts = 0, retries = 0, previous_first_attempts = 0, previous_retries = 0`

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
 * Transactions committed in the database so far. PostgreSQL publishes these counters
 * from each backend at most once a second, so wait that long before the last reading.
 */
export async function commitCount(url: string): Promise<number> {
  const [{ n }] = await sql<{ n: string }>(url, 'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()')
  return Number(n)
}

/**
 * Rows per statement, for each write of the hot path: every statement has one now(), so
 * distinct timestamps count statements. `insert`: created_at of the messages (group
 * commit); `claim`: started_at of the attempts; `record`: finished_at of the attempts.
 * Claims that found nothing leave no trace and are not counted.
 */
export async function rowsPerStatement(url: string): Promise<{ insert: number; claim: number; record: number }> {
  const [row] = await sql<{ insert: number; claim: number; record: number }>(
    url,
    `SELECT (SELECT count(*)::float8 / nullif(count(DISTINCT created_at), 0) FROM sms_outbox.messages WHERE created_at > ${RECENT}) AS insert,
            (SELECT count(*)::float8 / nullif(count(DISTINCT started_at), 0) FROM sms_outbox.message_attempts WHERE started_at > ${RECENT}) AS claim,
            (SELECT count(finished_at)::float8 / nullif(count(DISTINCT finished_at), 0) FROM sms_outbox.message_attempts WHERE started_at > ${RECENT}) AS record`,
  )
  return row
}

const sentCount = async (url: string) =>
  (await sql<{ n: number }>(url, `SELECT count(*)::int AS n FROM sms_outbox.messages WHERE status = 'sent' AND created_at > ${RECENT}`))[0].n

export interface DispatchFigures {
  messages: number
  seconds: number
  messagesPerSecond: number
  /** Transactions in the database per message. */
  commitsPerMessage: number
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
  provider: FakeProvider,
  { messages }: { messages: number },
  meter: () => CpuMeter,
): Promise<DispatchFigures> {
  const before = provider.received
  const callsBefore = provider.requests
  const commitsBefore = await commitCount(databaseUrl)
  await insertDue(databaseUrl, messages)
  const cpu = meter()
  const started = performance.now()
  await provider.waitFor(before + messages, 600_000)
  await waitUntil(async () => (await sentCount(databaseUrl)) >= messages, 'every message is recorded sent', 600_000, 10)
  const seconds = (performance.now() - started) / 1000
  const cpuShare = cpu.stop()
  const messagesPerCall = messages / (provider.requests - callsBefore)
  await sleep(1_100)
  const commitsPerMessage = (await commitCount(databaseUrl) - commitsBefore) / messages
  const { claim, record } = await rowsPerStatement(databaseUrl)
  return {
    messages,
    seconds,
    messagesPerSecond: messages / seconds,
    commitsPerMessage,
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
  /** Transactions in the database per message: inserts, claims, outcome writes, polls. */
  commitsPerMessage: number
  rowsPerStatement: { insert: number; claim: number; record: number }
  cpu: CpuShare
}

/**
 * Open-loop load: `ratePerSecond` single POSTs, each stamped when sent, to a service that
 * also dispatches; the fake provider stamps each receipt. Both stamps come from this
 * process's clock. The first `warmupSeconds` at the same rate are reported apart: a
 * fresh process lags up to a second for its first 1.5 s (JIT, pool connections).
 */
export async function endToEndLag(
  serviceUrl: string,
  provider: FakeProvider,
  { ratePerSecond, seconds, warmupSeconds }: { ratePerSecond: number; seconds: number; warmupSeconds: number },
  meter: () => CpuMeter,
  databaseUrl: string,
): Promise<LagFigures> {
  const pool = new Pool(serviceUrl, { connections: 256, pipelining: 1 })
  const commitsBefore = await commitCount(databaseUrl)
  const warmup = Math.round(ratePerSecond * warmupSeconds)
  const total = warmup + Math.round(ratePerSecond * seconds)
  const sentAt = new Float64Array(total)
  const receivedAt = new Float64Array(total).fill(Number.NaN)
  const enqueueMs: number[] = []
  const failures: string[] = []
  let received = 0
  provider.onMessage = (text, at) => {
    const seq = Number(text.slice(text.lastIndexOf(' ') + 1))
    if (Number.isNaN(receivedAt[seq])) {
      receivedAt[seq] = at
      received += 1
    }
  }
  const inFlight = new Set<Promise<void>>()
  let cpu: CpuMeter | undefined
  let cpuShare: CpuShare | undefined
  const send = (seq: number) => {
    if (seq === warmup) cpu = meter()
    const started = performance.now()
    sentAt[seq] = started
    const request = pool
      .request({
        path: '/v1/messages',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: MESSAGE.to, text: `bench lag ${seq}` }),
      })
      .then(async (response) => {
        await response.body.text()
        if (response.statusCode !== 202) failures.push(`HTTP ${response.statusCode}`)
        else if (seq >= warmup) enqueueMs.push(performance.now() - started)
      })
      .catch((error: unknown) => void failures.push(String(error)))
      .finally(() => inFlight.delete(request))
    inFlight.add(request)
  }
  try {
    const started = performance.now()
    let next = 0
    while (next < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) * ratePerSecond) / 1000) + 1)
      while (next < due) send(next++)
      await sleep(1)
    }
    await Promise.all(inFlight)
    if (failures.length > 0) throw new Error(`${failures.length} enqueue requests failed, e.g. ${failures[0]}`)
    await waitUntil(() => received >= total, `the provider has all ${total} messages`, 60_000, 10)
    cpuShare = cpu!.stop()
  } finally {
    provider.onMessage = undefined
    await pool.close()
  }
  await sleep(1_100)
  const commitsPerMessage = (await commitCount(databaseUrl) - commitsBefore) / total
  const statements = await rowsPerStatement(databaseUrl)
  const lags = Array.from({ length: total - warmup }, (_, i) => receivedAt[warmup + i] - sentAt[warmup + i])
  const warmupLags = Array.from({ length: warmup }, (_, i) => receivedAt[i] - sentAt[i])
  return {
    warmup: { seconds: warmupSeconds, p99Ms: quantile(warmupLags, 0.99), maxMs: Math.max(...warmupLags) },
    commitsPerMessage,
    rowsPerStatement: statements,
    ratePerSecond,
    messages: lags.length,
    p50Ms: quantile(lags, 0.5),
    p99Ms: quantile(lags, 0.99),
    maxMs: Math.max(...lags),
    enqueueP50Ms: quantile(enqueueMs, 0.5),
    enqueueP99Ms: quantile(enqueueMs, 0.99),
    cpu: cpuShare!,
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
    const emptyTable = await claims.measure(iterations, () => sql(databaseUrl, 'DELETE FROM sms_outbox.messages'))

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
