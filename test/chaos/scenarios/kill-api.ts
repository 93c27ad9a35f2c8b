import { phoneNumberOf } from '../load-generator.ts'
import { replayUnresolved, rowsNeverAccepted } from '../replay.ts'
import { sleep, type Scenario, type ScenarioContext } from '../scenario.ts'

/**
 * 5. kill -9 the API under load (two APIs, killed in turn and restarted at once). A 2xx
 * promises a committed row, so every 2xx id must exist. A request cut off by the kill is
 * unknown to its caller; replaying it with the same Idempotency-Key must return the
 * original id (200) when it had committed, and create nothing new.
 */
export const killApi: Scenario = {
  id: 5,
  name: 'kill -9 the API under load',
  quick: false,
  timeoutMs: 120_000,
  async run(ctx) {
    const count = ctx.quick ? 400 : 3_000
    const apis = await Promise.all([1, 2].map((n) => ctx.driver.start(`api-${n}`, ctx.serviceEnv({ ROLE: 'api' }))))
    await ctx.driver.start('worker', ctx.serviceEnv({ ROLE: 'worker' }))
    const targets = () => ctx.driver.running('api-').map((api) => api.url)

    let loading = true
    let kills = 0
    const killer = (async () => {
      for (let turn = 0; loading; turn += 1) {
        await sleep(2_500)
        // Whichever is up, even the last one: while both are down, callers are refused and
        // send again, as they would.
        const live = ctx.driver.running('api-')
        if (!loading || live.length === 0) continue
        kills += 1
        void ctx.driver.restart(live[turn % live.length]).catch(() => {})
      }
    })()
    await ctx.load.run({
      count,
      // Spread over 15 s (3 s quick) whatever the API's speed, so that the kills land mid-load.
      ratePerSecond: count / (ctx.quick ? 3 : 15),
      concurrency: 64,
      targets,
      keyPrefix: 'kill-api',
      timeoutMs: 5_000,
      // A refused connection never reached a process: a caller sends it again at once.
      retryUntil: Date.now() + 60_000,
      body: (i) => ({ to: phoneNumberOf(i), text: `kill api ${i}` }),
    })
    loading = false
    await killer
    await waitForApis(ctx, 2)
    const during = ctx.load.summary()
    const replay = await replayUnresolved(ctx.pool, ctx.load, targets)
    await ctx.check(ctx.load.acceptedIds().values())
    const orphans = await rowsNeverAccepted(ctx.pool, ctx.load)
    ctx.expect('kills happened', kills >= 3, kills)
    ctx.expect('replay of a committed key returns the original id', replay.replay_mismatched === 0, replay)
    ctx.expect('one row per key', replay.keys_with_several_rows === 0, replay)
    ctx.expect('every replay answered', replay.replay_failed === 0, replay)
    ctx.expect('every row accepted by some answer', orphans === 0, orphans)
    return { requests: count, kills, tries: during.tries, ...replay }
  },
}

/** Until `n` APIs are up (restarts run in the background). */
export async function waitForApis(ctx: ScenarioContext, n: number): Promise<void> {
  const deadline = performance.now() + 20_000
  while (ctx.driver.running('api-').length < n && performance.now() < deadline) await sleep(100)
}
