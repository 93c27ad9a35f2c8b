import { busiestSecond } from '../../../bench/measure.ts'
import { backoffDelayMs } from '../../../src/outbox/dispatch/backoff.ts'
import { percentile } from '../checker.ts'
import { phoneNumberOf } from '../load-generator.ts'
import { CHAOS_SERVICE_ENV, round, type Scenario, type ScenarioContext } from '../scenario.ts'

/** Attempts of every message, in order, with the gaps the database recorded. */
async function attemptGaps(ctx: ScenarioContext) {
  const { rows } = await ctx.pool.query<{
    message_id: string
    attempt: number
    outcome: string
    gap_ms: number | null
    latency_ms: number
    http_status: number | null
    error_code: string | null
  }>(`
    SELECT message_id, attempt, outcome, latency_ms, http_status, error_code,
           (extract(epoch FROM started_at - lag(finished_at) OVER w) * 1000)::float AS gap_ms
    FROM sms_outbox.message_attempts WINDOW w AS (PARTITION BY message_id ORDER BY attempt)
    ORDER BY message_id, attempt`)
  return rows
}

async function startApiAndWorkers(ctx: ScenarioContext, workers: number, env: Record<string, string> = {}) {
  const [api] = await Promise.all([
    ctx.driver.start('api', ctx.serviceEnv({ ROLE: 'api' })),
    ...Array.from({ length: workers }, (_, n) => ctx.driver.start(`worker-${n + 1}`, ctx.serviceEnv({ ROLE: 'worker', ...env }))),
  ])
  return api
}

const policy = {
  baseDelayMs: Number(CHAOS_SERVICE_ENV.RETRY_BASE_DELAY_MS),
  maxDelayMs: Number(CHAOS_SERVICE_ENV.RETRY_MAX_DELAY_MS),
  jitter: 'none' as const,
}
const pollMs = Number(CHAOS_SERVICE_ENV.POLL_INTERVAL_MS)

/**
 * 11. A 5xx storm (503: not processed) for 1.5 s, then recovery. Every gap between two
 * attempts must match the capped backoff, from the database's own timestamps, give or take
 * one poll interval; no message may die before its retries are used; all are sent after.
 */
export const serverErrorStorm: Scenario = {
  id: 11,
  name: '5xx storm then recovery',
  quick: false,
  timeoutMs: 60_000,
  async run(ctx) {
    // Fewer messages than the dispatchers' 200 slots: the schedule is measured, not how a
    // saturated dispatcher queues (slots held until each outcome is written add to the gaps).
    const count = ctx.quick ? 50 : 150
    const stormMs = 1_500
    let stormEnds = Number.POSITIVE_INFINITY
    ctx.provider.rule = () => {
      if (stormEnds === Number.POSITIVE_INFINITY) stormEnds = Date.now() + stormMs
      return Date.now() < stormEnds ? { kind: 'status', status: 503 } : undefined
    }
    // 6 attempts (100, 200, 400, 800 ms, then the 1 s cap) outlast the 1.5 s storm. The
    // schedule is what is measured, so the retry budget (scenario 25) must not hold any back.
    const api = await startApiAndWorkers(ctx, 2, {
      DISPATCH_CONCURRENCY: '100',
      RETRY_MAX_RETRIES: '5',
      RETRY_BUDGET_MIN_PER_MINUTE: '100000',
    })
    await ctx.load.runBatches({
      count,
      batchSize: count,
      concurrency: 1,
      targets: () => [api.url],
      keyPrefix: 'storm',
      body: (i) => ({ to: phoneNumberOf(i), text: `storm ${i}`, maxRetries: 5 }),
    })
    const report = await ctx.check(ctx.load.acceptedIds().values())
    const attempts = await attemptGaps(ctx)
    // The n-th failure schedules the next attempt backoff(n) after it (n counts failures).
    const lateness: number[] = []
    const early: unknown[] = []
    for (const a of attempts) {
      if (a.gap_ms === null) continue
      const expected = backoffDelayMs(a.attempt - 1, policy)
      if (a.gap_ms < expected - 1) early.push(a)
      lateness.push(a.gap_ms - expected)
    }
    const maxLateness = Math.max(0, ...lateness)
    const retried = attempts.filter((a) => a.attempt > 1).length
    ctx.expect('the storm made retries', retried >= count, retried)
    ctx.expect('no retry earlier than its backoff', early.length === 0, early.slice(0, 3))
    ctx.expect('no retry later than backoff + one poll interval', maxLateness <= pollMs, round(maxLateness, 0))
    ctx.expect('no message dead before its retries are used', report.dead === 0, report.dead)
    ctx.expect('all sent after recovery', report.sent === count, report.sent)
    const byAttempt: Record<number, number> = {}
    attempts.forEach((a) => {
      if (a.gap_ms !== null && a.gap_ms - backoffDelayMs(a.attempt - 1, policy) > pollMs) byAttempt[a.attempt] = (byAttempt[a.attempt] ?? 0) + 1
    })
    return {
      messages: count,
      storm_ms: stormMs,
      retries: retried,
      lateness_p50_ms: round(percentile(lateness, 50), 0),
      lateness_p99_ms: round(percentile(lateness, 99), 0),
      max_lateness_ms: round(maxLateness, 0),
      late_by_attempt: byAttempt,
      poll_interval_ms: pollMs,
    }
  },
}

/**
 * 12. 429 with Retry-After: the first two calls for every message are refused with
 * `Retry-After: 1`. No retry may come earlier than that second; no attempt of the retry
 * budget is used (messages with maxRetries 0 are still sent on their third call). Four
 * dispatchers share PROVIDER_RATE_LIMIT=50: no second of the provider's ledger may hold
 * more than the limit plus its burst.
 */
export const rateLimited: Scenario = {
  id: 12,
  name: '429 with Retry-After',
  quick: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const count = ctx.quick ? 50 : 200
    // Four dispatchers under one shared limit; its burst is a tenth of a second's worth.
    const limit = 50
    const burst = limit / 10
    ctx.provider.rule = ({ n }) => (n <= 2 ? { kind: 'rateLimited', retryAfterSeconds: 1 } : undefined)
    const api = await startApiAndWorkers(ctx, 4, { PROVIDER_RATE_LIMIT: String(limit) })
    await ctx.load.runBatches({
      count,
      batchSize: count,
      concurrency: 1,
      targets: () => [api.url],
      keyPrefix: 'rate',
      body: (i) => ({ to: phoneNumberOf(i), text: `rate ${i}`, maxRetries: 0 }),
    })
    const report = await ctx.check(ctx.load.acceptedIds().values())
    const attempts = await attemptGaps(ctx)
    const early = attempts.filter((a) => a.gap_ms !== null && a.gap_ms < 1_000)
    const { rows } = await ctx.pool.query<{ counted: number; attempts: number; n: number }>(
      `SELECT counted_attempts AS counted, attempts, count(*)::int AS n FROM sms_outbox.messages GROUP BY 1, 2`,
    )
    const busiest = busiestSecond(ctx.provider.ledger.map((entry) => entry.at))
    ctx.expect('no retry earlier than Retry-After', early.length === 0, early.slice(0, 3))
    ctx.expect('provider requests in any second <= PROVIDER_RATE_LIMIT + burst', busiest <= limit + burst, busiest)
    ctx.expect('no attempt consumed: counted 1 of 3 calls', rows.length === 1 && rows[0].counted === 1 && rows[0].attempts === 3, rows)
    ctx.expect('all sent with maxRetries 0', report.sent === count, report.sent)
    return {
      messages: count,
      rate_limited_calls: attempts.filter((a) => a.outcome === 'rate_limited').length,
      min_gap_after_429_ms: round(Math.min(...attempts.filter((a) => a.gap_ms !== null).map((a) => a.gap_ms!)), 0),
      rate_limit: { per_second: limit, burst, dispatchers: 4 },
      provider_busiest_second: busiest,
    }
  },
}

/**
 * 13. A hung provider: the first call for every message never answers. Each must be
 * aborted at PROVIDER_TIMEOUT_MS and recorded ambiguous, and its concurrency slot freed:
 * with 4 slots and 10x as many hung messages, a leaked slot would stall the dispatcher.
 */
export const hungProvider: Scenario = {
  id: 13,
  name: 'hung provider',
  quick: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const slots = 4
    const count = ctx.quick ? 8 : 40
    const timeoutMs = Number(CHAOS_SERVICE_ENV.PROVIDER_TIMEOUT_MS)
    ctx.provider.rule = ({ n }) => (n === 1 ? { kind: 'hang' } : undefined)
    const api = await startApiAndWorkers(ctx, 1, { DISPATCH_CONCURRENCY: String(slots) })
    await ctx.load.runBatches({
      count,
      batchSize: count,
      concurrency: 1,
      targets: () => [api.url],
      keyPrefix: 'hang',
      body: (i) => ({ to: phoneNumberOf(i), text: `hang ${i}` }),
    })
    const report = await ctx.check(ctx.load.acceptedIds().values())
    const attempts = await attemptGaps(ctx)
    const first = attempts.filter((a) => a.attempt === 1)
    const aborted = first.filter((a) => a.outcome === 'ambiguous' && a.error_code === 'timeout')
    const latencies = first.map((a) => a.latency_ms)
    ctx.expect('every hung call recorded ambiguous (timeout)', aborted.length === count, first.slice(0, 3))
    // Aborted at the timeout, and not much after (one event-loop turn). Calls that start
    // within 1% of the timeout share one signal (CallDeadlines), so a call gets at least
    // 99% of it; a millisecond more for the timer's rounding.
    ctx.expect('aborted at PROVIDER_TIMEOUT_MS', Math.min(...latencies) >= timeoutMs * 0.99 - 1 && Math.max(...latencies) <= timeoutMs + 250, {
      min: Math.min(...latencies),
      max: Math.max(...latencies),
    })
    ctx.expect('slots freed: every message sent', report.sent === count, report.sent)
    ctx.expect('each duplicate is a hung call', report.dup === count, report.dup)
    return { messages: count, slots, timeout_ms: timeoutMs, abort_latency_min_ms: Math.min(...latencies), abort_latency_max_ms: Math.max(...latencies) }
  },
}

/**
 * 14. Accept-then-reset for 10% of calls: the provider records the message, then drops the
 * connection. Each is ambiguous, so every duplicate must be explained by one.
 */
export const acceptThenReset: Scenario = {
  id: 14,
  name: 'accept-then-reset at 10%',
  quick: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const count = ctx.quick ? 200 : 1_000
    // The first call of every tenth message: each reset costs that message one retry, so
    // none can run out of them, and dup must equal the resets exactly.
    let messages = 0
    ctx.provider.rule = ({ n }) => (n === 1 && ++messages % 10 === 0 ? { kind: 'reset' } : undefined)
    const api = await startApiAndWorkers(ctx, 2)
    await ctx.load.runBatches({
      count,
      batchSize: 200,
      concurrency: 1,
      targets: () => [api.url],
      keyPrefix: 'reset',
      body: (i) => ({ to: phoneNumberOf(i), text: `reset ${i}` }),
    })
    const report = await ctx.check(ctx.load.acceptedIds().values())
    const resets = ctx.provider.ledger.filter((entry) => entry.mode === 'reset').length
    ctx.expect('resets happened', resets > 0, resets)
    ctx.expect('dup == resets', report.dup === resets, { dup: report.dup, resets })
    ctx.expect('every message sent', report.sent === count, report.sent)
    return { messages: count, resets }
  },
}

/**
 * 15. Permanent 4xx for some numbers (those ending in 13): dead after exactly one
 * attempt, never retried; the others sent.
 */
export const permanentRefusals: Scenario = {
  id: 15,
  name: 'permanent 4xx for some numbers',
  quick: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const count = ctx.quick ? 100 : 500
    const refused = (to: string) => to.endsWith('13')
    ctx.provider.rule = ({ to }) => (refused(to) ? { kind: 'status', status: 400, body: '{"error":"invalid recipient"}' } : undefined)
    const api = await startApiAndWorkers(ctx, 1)
    await ctx.load.runBatches({
      count,
      batchSize: count,
      concurrency: 1,
      targets: () => [api.url],
      keyPrefix: 'permanent',
      body: (i) => ({ to: phoneNumberOf(i), text: `permanent ${i}` }),
    })
    const report = await ctx.check(ctx.load.acceptedIds().values())
    const { rows } = await ctx.pool.query<{ refused: boolean; status: string; attempts: number; n: number }>(
      `SELECT recipient LIKE '%13' AS refused, status, attempts, count(*)::int AS n FROM sms_outbox.messages GROUP BY 1, 2, 3 ORDER BY 1`,
    )
    const expectedDead = Array.from({ length: count }, (_, i) => phoneNumberOf(i)).filter(refused).length
    ctx.expect('refused numbers: dead after exactly 1 attempt', rows.filter((r) => r.refused).every((r) => r.status === 'dead' && r.attempts === 1) &&
      report.dead === expectedDead, rows)
    ctx.expect('the others: sent', rows.filter((r) => !r.refused).every((r) => r.status === 'sent') && report.sent === count - expectedDead, rows)
    return { messages: count, permanent: expectedDead }
  },
}
