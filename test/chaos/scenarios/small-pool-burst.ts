import { percentile } from '../checker.ts'
import { phoneNumberOf } from '../load-generator.ts'
import { replayUnresolved, rowsNeverAccepted } from '../replay.ts'
import { round, type Scenario } from '../scenario.ts'

/**
 * 21. An API with a pool of 2 connections under a burst of 500 requests at once. Whatever
 * cannot be served in time must be a 503 with Retry-After, answered well inside the
 * 30 s request timeout, never a 2xx without a commit; the dispatcher keeps sending.
 */
export const smallPoolBurst: Scenario = {
  id: 21,
  name: 'small API pool under a burst',
  quick: false,
  timeoutMs: 90_000,
  async run(ctx) {
    const count = ctx.quick ? 300 : 1_500
    const api = await ctx.driver.start('api', ctx.serviceEnv({ ROLE: 'api', DATABASE_POOL_SIZE: '2' }))
    await ctx.driver.start('worker', ctx.serviceEnv({ ROLE: 'worker' }))
    await ctx.load.run({
      count,
      concurrency: 500,
      targets: () => [api.url],
      keyPrefix: 'burst',
      timeoutMs: 30_000,
      body: (i) => ({ to: phoneNumberOf(i), text: `burst ${i}` }),
    })
    const tries = [...ctx.load.logs.values()].flatMap((log) => log.tries)
    const refused = tries.filter((t) => t.outcome !== 'accepted')
    const not503 = refused.filter((t) => t.status !== 503 || t.retryAfter === undefined)
    const accepted = tries.filter((t) => t.outcome === 'accepted').map((t) => t.ms)
    const unavailable = refused.map((t) => t.ms)
    const replay = await replayUnresolved(ctx.pool, ctx.load, () => [api.url])
    const report = await ctx.check(ctx.load.acceptedIds().values())
    const orphans = await rowsNeverAccepted(ctx.pool, ctx.load)
    ctx.expect('refusals are 503 with Retry-After', not503.length === 0, not503.slice(0, 3))
    ctx.expect('503s well inside the request timeout (under 10 s)', unavailable.every((ms) => ms < 10_000), round(Math.max(0, ...unavailable), 0))
    ctx.expect('replays resolved every key, no duplicate row', replay.replay_failed === 0 && replay.keys_with_several_rows === 0 && replay.replay_mismatched === 0, replay)
    ctx.expect('every row accepted by some answer', orphans === 0, orphans)
    ctx.expect('the dispatcher kept sending: all sent', report.sent === count, report.sent)
    return {
      requests: count,
      concurrency: 500,
      pool_size: 2,
      accepted_first_try: accepted.length,
      refused_503: refused.length,
      accepted_p99_ms: round(percentile(accepted, 99), 0),
      refused_p50_ms: round(percentile(unavailable, 50), 0),
      refused_p99_ms: round(percentile(unavailable, 99), 0),
      ...replay,
    }
  },
}
