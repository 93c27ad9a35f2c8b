import { phoneNumberOf } from '../load-generator.ts'
import { killInTurn } from '../kill-in-turn.ts'
import type { Scenario } from '../scenario.ts'

/**
 * 2. kill -9 a dispatcher every 2 s during a 20k drain, four dispatchers, each restarted
 * at once. The rows a killed dispatcher held come back when their lease runs out, labelled
 * ambiguous, so the only duplicates are sends it made but never recorded: at most what was
 * in flight at the kills.
 */
export const killDispatchers: Scenario = {
  id: 2,
  name: 'kill -9 dispatchers during a drain',
  quick: true,
  timeoutMs: 150_000,
  async run(ctx) {
    const count = ctx.quick ? 1_000 : 20_000
    // The quick run's 1,000 rows would drain before a 2 s kill: it kills every second,
    // against a slower provider, so that both kills land mid-drain.
    const killEveryMs = ctx.quick ? 1_000 : 2_000
    // A restarted dispatcher takes 3-4 s to boot here; the quick run stops killing early
    // so that it drains within its share of CI.
    const maxKills = ctx.quick ? 2 : Number.POSITIVE_INFINITY
    // 20 ms per call, as a provider across a network: rows spend long enough in flight
    // that every kill catches some of them mid-call.
    ctx.provider.mode = { kind: 'ok', delayMs: ctx.quick ? 50 : 20 }
    const api = await ctx.driver.start('api', ctx.serviceEnv({ ROLE: 'api' }))
    await ctx.load.runBatches({
      count,
      batchSize: 500,
      concurrency: 2,
      targets: () => [api.url],
      keyPrefix: 'kill',
      body: (i) => ({ to: phoneNumberOf(i), text: `kill ${i}` }),
    })
    const accepted = ctx.load.acceptedIds()
    const workerEnv = ctx.serviceEnv({ ROLE: 'worker', ...(ctx.quick && { DISPATCH_CONCURRENCY: '8' }) })
    const workers = await Promise.all([1, 2, 3, 4].map((n) => ctx.driver.start(`worker-${n}`, workerEnv)))
    let inFlightAtKills = 0
    const kills = await killInTurn(ctx, workers, {
      everyMs: killEveryMs,
      maxKills,
      onKill: (sending) => (inFlightAtKills += sending),
    })
    const report = await ctx.check(accepted.values())
    // Ambiguous attempts by cause: a lease that ran out (the kills), or a provider call that
    // timed out (a CI machine busy enough to stretch a 50 ms call past PROVIDER_TIMEOUT_MS).
    const { rows } = await ctx.pool.query<{ reclaimed: number; timedOut: number }>(
      `SELECT count(*) FILTER (WHERE error_code = 'lease_expired')::int AS reclaimed,
              count(*) FILTER (WHERE outcome = 'ambiguous' AND error_code <> 'lease_expired')::int AS "timedOut"
       FROM sms_outbox.message_attempts`,
    )
    const { reclaimed, timedOut } = rows[0]
    ctx.expect('kills happened', kills >= (ctx.quick ? 2 : 5), kills)
    ctx.expect('dup <= in flight at the kills', report.dup <= inFlightAtKills, { dup: report.dup, inFlightAtKills })
    ctx.expect('dup <= rows reclaimed from killed dispatchers + calls timed out', report.dup <= reclaimed + timedOut, {
      dup: report.dup,
      reclaimed,
      timedOut,
    })
    ctx.expect('every message sent', report.sent === count, report.sent)
    return { messages: count, kills, in_flight_at_kills: inFlightAtKills, reclaimed_after_kills: reclaimed, timed_out_calls: timedOut }
  },
}
