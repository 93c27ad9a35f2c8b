import type { ManagedService } from './chaos-driver.ts'
import { sleep, type ScenarioContext } from './scenario.ts'

/**
 * Kills `workers` with -9 one at a time, in turn, every `everyMs`, restarting each at once,
 * until no message is pending or sending; at most `maxKills` kills. A worker still booting
 * from its last kill is skipped. `onKill` learns how many rows all workers held in
 * `sending` just after each kill (an upper bound on what the victim held). Resolves with the
 * number of kills once every restart is done.
 */
export async function killInTurn(
  ctx: ScenarioContext,
  workers: ManagedService[],
  { everyMs, maxKills = Number.POSITIVE_INFINITY, onKill }: { everyMs: number; maxKills?: number; onKill?: (sending: number) => void },
): Promise<number> {
  let running = workers
  let kills = 0
  const restarts: Promise<unknown>[] = []
  for (let turn = 0; ; turn += 1) {
    await sleep(everyMs)
    const { rows } = await ctx.pool.query<{ open: number }>(
      `SELECT count(*)::int AS open FROM sms_outbox.messages WHERE status IN ('pending', 'sending')`,
    )
    if (rows[0].open === 0) break
    const victim = running[turn % running.length]
    if (!victim.alive || kills >= maxKills) continue
    kills += 1
    restarts.push(
      (async () => {
        await ctx.driver.kill(victim)
        // Counted once the victim is dead: its rows stay `sending` until their lease runs
        // out, so all of them are in the count. Counted before the signal, a claim the
        // victim made in between was missing from it (a flake in CI: 20 duplicates, 18 counted).
        const { rows } = await ctx.pool.query<{ sending: number }>(
          `SELECT count(*)::int AS sending FROM sms_outbox.messages WHERE status = 'sending'`,
        )
        onKill?.(rows[0].sending)
        const fresh = await ctx.driver.start(victim.name, victim.env)
        running = running.map((w) => (w === victim ? fresh : w))
      })(),
    )
  }
  await Promise.all(restarts)
  return kills
}
