import { phoneNumberOf } from '../load-generator.ts'
import { killInTurn } from '../kill-in-turn.ts'
import type { Scenario } from '../scenario.ts'

/**
 * 26. SOLAPI's send-many/detail under whole-call faults and kill -9. Two dispatchers send
 * calls of up to 20 messages; every fifth call hangs past PROVIDER_TIMEOUT_MS, resets
 * after the request was read, or answers 500 (all three may have sent every message in
 * them), 503 or 429 (nothing sent), in turn; a dispatcher is killed with -9 every 2 s
 * (every second in the quick run). A fault of
 * one call is the outcome of every message in it: each must be labelled, so that every
 * duplicate the checker counts is explained by an ambiguous attempt of its own message,
 * and none may be lost, stranded or marked sent without a receipt.
 */
export const solapiSendMany: Scenario = {
  id: 26,
  name: 'SOLAPI send-many: whole-call faults and kill -9',
  quick: true,
  timeoutMs: 150_000,
  async run(ctx) {
    const count = ctx.quick ? 2_000 : 10_000
    const killEveryMs = ctx.quick ? 1_000 : 2_000
    const maxKills = ctx.quick ? 2 : Number.POSITIVE_INFINITY
    // 100 ms per call, as a provider across a network: calls are in flight at the kills.
    ctx.provider.mode = { kind: 'ok', delayMs: 100 }
    const faults = [
      { kind: 'hang' },
      { kind: 'reset' },
      { kind: 'status', status: 500 },
      { kind: 'status', status: 503 },
      { kind: 'rateLimited', retryAfterSeconds: 0.2 },
    ] as const
    // The rule is asked once per call (for its first message).
    let calls = 0
    ctx.provider.rule = () => {
      calls += 1
      return calls % 5 === 0 ? faults[(calls / 5) % faults.length] : undefined
    }
    const api = await ctx.driver.start('api', ctx.serviceEnv({ ROLE: 'api' }))
    await ctx.load.runBatches({
      count,
      batchSize: 500,
      concurrency: 2,
      targets: () => [api.url],
      keyPrefix: 'many',
      // Faults, not the messages, fail these calls: enough tries that every message gets through.
      body: (i) => ({ to: phoneNumberOf(i), text: `many ${i}`, maxRetries: 10 }),
    })
    const accepted = ctx.load.acceptedIds()
    const workerEnv = ctx.serviceEnv({
      ROLE: 'worker',
      SMS_PROVIDER: 'solapi',
      SOLAPI_BASE_URL: ctx.provider.solapiBaseUrl,
      SOLAPI_API_KEY: 'NCSCHAOSKEY',
      SOLAPI_API_SECRET: 'chaos-secret',
      SMS_FROM: '02-1234-5678',
      SOLAPI_BATCH_SIZE: '20',
      DISPATCH_BATCH_SIZE: '20',
      // The chaos fake does not speak the message list delivery receipts are polled from.
      RECEIPT_POLL_INTERVAL_MS: '0',
      DISPATCH_CONCURRENCY: '2',
      // No retry budget holding the schedule back (scenario 25 measures that).
      RETRY_BUDGET_MIN_PER_MINUTE: '100000',
    })
    const workers = await Promise.all([1, 2].map((n) => ctx.driver.start(`worker-${n}`, workerEnv)))
    const kills = await killInTurn(ctx, workers, { everyMs: killEveryMs, maxKills })
    const report = await ctx.check(accepted.values())

    const perMode = new Map<string, number>()
    for (const entry of ctx.provider.ledger) perMode.set(entry.mode, (perMode.get(entry.mode) ?? 0) + 1)
    const { rows } = await ctx.pool.query<{ attempts: number; ambiguous: number; retried_together: number }>(
      `SELECT count(*)::int AS attempts,
              count(*) FILTER (WHERE outcome = 'ambiguous')::int AS ambiguous,
              -- Attempts that ended in the same statement as 10 or more others of the same
              -- outcome: a whole call's fault recorded for each of its messages.
              count(*) FILTER (WHERE n >= 10 AND outcome <> 'ok')::int AS retried_together
       FROM (SELECT outcome, finished_at, count(*) OVER (PARTITION BY outcome, finished_at) AS n
             FROM message_attempts) a`,
    )
    const [{ attempts, ambiguous, retried_together: retriedTogether }] = rows
    ctx.expect('kills happened', kills >= 2, kills)
    ctx.expect(
      'calls failed as a whole: hang, reset, 5xx and 429 all drawn',
      ['hang', 'reset', 'status', 'rateLimited'].every((kind) => (perMode.get(kind) ?? 0) > 0),
      Object.fromEntries(perMode),
    )
    ctx.expect('a call\'s fault was recorded on each of its messages', retriedTogether > 0, retriedTogether)
    ctx.expect('every message sent', report.sent === count, report.sent)
    return {
      messages: count,
      kills,
      calls,
      messages_per_mode: Object.fromEntries(perMode),
      attempts,
      ambiguous_attempts: ambiguous,
      failed_with_their_call: retriedTogether,
    }
  },
}
