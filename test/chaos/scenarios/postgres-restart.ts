import { phoneNumberOf, type Try } from '../load-generator.ts'
import { replayUnresolved, rowsNeverAccepted } from '../replay.ts'
import { round, sleep, type Scenario } from '../scenario.ts'

/**
 * 7. PostgreSQL restarted under load, once `immediate` (no checkpoint: crash recovery) and
 * once `fast`, down 2 s each. No 2xx may stand for an insert that did not commit; during
 * the outage the API answers 503 with Retry-After within the callers' timeout; the
 * dispatchers resume without a restart of their own.
 */
export const postgresRestart: Scenario = {
  id: 7,
  name: 'PostgreSQL restart under load',
  quick: false,
  timeoutMs: 120_000,
  async run(ctx) {
    const seconds = ctx.quick ? 8 : 20
    const rate = 100
    const timeoutMs = 10_000
    const api = await ctx.driver.start('api', ctx.serviceEnv({ ROLE: 'api' }))
    const workers = await Promise.all([1, 2].map((n) => ctx.driver.start(`worker-${n}`, ctx.serviceEnv({ ROLE: 'worker' }))))
    const startsBefore = ctx.driver.starts

    const outages: { mode: 'immediate' | 'fast'; from: number; to: number }[] = []
    const restarts = (async () => {
      const plan: ['immediate' | 'fast', number][] = ctx.quick ? [['immediate', 3_000]] : [['immediate', 4_000], ['fast', 12_000]]
      const t0 = Date.now()
      for (const [mode, at] of plan) {
        await sleep(Math.max(0, t0 + at - Date.now()))
        const from = Date.now()
        await ctx.postgres.restart(mode, 2_000)
        outages.push({ mode, from, to: Date.now() })
      }
    })()
    await ctx.load.run({
      count: seconds * rate,
      ratePerSecond: rate,
      concurrency: 64,
      targets: () => [api.url],
      keyPrefix: 'pg-restart',
      timeoutMs,
      body: (i) => ({ to: phoneNumberOf(i), text: `pg restart ${i}` }),
    })
    await restarts

    // Every try that started while the server was down or coming back.
    const duringOutage: Try[] = []
    for (const log of ctx.load.logs.values()) {
      for (const t of log.tries) {
        if (outages.some((o) => t.startedAt >= o.from && t.startedAt <= o.to)) duringOutage.push(t)
      }
    }
    const failedDuring = duringOutage.filter((t) => t.outcome !== 'accepted')
    const not503 = failedDuring.filter((t) => t.status !== 503 || t.retryAfter === undefined)
    const tries = ctx.load.summary().tries
    const replay = await replayUnresolved(ctx.pool, ctx.load, () => [api.url])
    await ctx.check(ctx.load.acceptedIds().values())
    const orphans = await rowsNeverAccepted(ctx.pool, ctx.load)

    ctx.expect('the outage was seen by callers', failedDuring.length > 0, duringOutage.length)
    ctx.expect('during the outage: only 503 with Retry-After', not503.length === 0, not503.slice(0, 5))
    ctx.expect('503s within the callers timeout', failedDuring.every((t) => t.ms < timeoutMs), Math.max(0, ...failedDuring.map((t) => t.ms)))
    ctx.expect('dispatchers resumed without a restart', ctx.driver.starts === startsBefore && workers.every((w) => w.alive), ctx.driver.starts - startsBefore)
    ctx.expect('replay of a committed key returns the original id', replay.replay_mismatched === 0 && replay.replay_failed === 0, replay)
    ctx.expect('every row accepted by some answer', orphans === 0, orphans)
    return {
      requests: seconds * rate,
      restarts: outages.map((o) => `${o.mode} ${round((o.to - o.from) / 1000, 1)} s`),
      tries,
      outage_tries: duringOutage.length,
      outage_503: failedDuring.filter((t) => t.status === 503).length,
      outage_max_answer_ms: round(Math.max(0, ...failedDuring.map((t) => t.ms)), 0),
      ...replay,
    }
  },
}
