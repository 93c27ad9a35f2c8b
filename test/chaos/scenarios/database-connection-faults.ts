import { percentile } from '../checker.ts'
import { insertMessages } from '../direct-insert.ts'
import { CHAOS_SERVICE_ENV, round, sleep, type Scenario } from '../scenario.ts'
import { TcpProxy } from '../tcp-proxy.ts'

const pollMs = Number(CHAOS_SERVICE_ENV.POLL_INTERVAL_MS)

/**
 * 8. Every second, pg_terminate_backend on every dispatcher connection, the LISTEN ones
 * included, while messages arrive one at a time. Nothing may be stranded, and with the
 * notifications dead most of the time, pickup (from the insert's commit to the provider's
 * receipt) must stay within the poll interval, plus the claim and the call: polling is
 * the floor under LISTEN.
 */
/** What a claim and the provider call after it may add to the poll interval on 2 busy cores. */
const CALL_ALLOWANCE_MS = 50

export const backendTermination: Scenario = {
  id: 8,
  name: 'backend termination every second',
  quick: false,
  timeoutMs: 90_000,
  async run(ctx) {
    const seconds = ctx.quick ? 5 : 12
    await Promise.all([1, 2].map((n) => ctx.driver.start(`worker-${n}`, ctx.serviceEnv({ ROLE: 'worker' }))))
    let terminated = 0
    let inserting = true
    const terminator = (async () => {
      while (inserting) {
        await sleep(1_000)
        const { rows } = await ctx.pool.query<{ n: number }>(`
          SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name <> 'chaos-harness'`)
        terminated += rows[0].n
      }
    })()
    // Pickup runs from the insert's commit (when a dispatcher can first see the row; the
    // INSERT has returned by then) to the provider's receipt: one process, one clock.
    const ids: string[] = []
    const committedAt = new Map<string, number>()
    for (let i = 0; i < seconds * 10; i += 1) {
      const [id] = await insertMessages(ctx.pool, 1, `terminate ${i}`)
      committedAt.set(id, Date.now())
      ids.push(id)
      await sleep(100)
    }
    inserting = false
    await terminator
    const report = await ctx.check(ids)
    // To the provider's receipt of the first call, on the harness's clock like the commit.
    // (An attempt's started_at is worked out when its outcome is written, and with the
    // connections killed every second that write is sometimes retried: not a pickup time.)
    const firstCall = new Map<string, number>()
    for (const entry of ctx.provider.ledger) if (!firstCall.has(entry.id)) firstCall.set(entry.id, entry.at)
    const pickups = ids.map((id) => firstCall.get(id)! - committedAt.get(id)!)
    // The claim and the call after it take milliseconds; a missed poll would add 200.
    const late = pickups.filter((ms) => ms > pollMs + CALL_ALLOWANCE_MS)
    ctx.expect('backends were terminated', terminated >= seconds, terminated)
    ctx.expect(`pickup within the poll interval + ${CALL_ALLOWANCE_MS} ms`, late.length === 0, { late: late.length, max: round(Math.max(...pickups), 0) })
    ctx.expect('every message sent', report.sent === ids.length, report.sent)
    return {
      messages: ids.length,
      backends_terminated: terminated,
      pickup_p50_ms: round(percentile(pickups, 50), 0),
      pickup_p99_ms: round(percentile(pickups, 99), 0),
      pickup_max_ms: round(Math.max(...pickups), 0),
      poll_interval_ms: pollMs,
      allowance_ms: CALL_ALLOWANCE_MS,
    }
  },
}

/**
 * 9. The dispatchers' database goes silent for 60 s: a TCP proxy the harness owns stops
 * forwarding (nothing refused, nothing answered, as a dead link). Dispatchers must time
 * out instead of hanging, stay alive, and resume on their own once the link is back:
 * lost 0, stranded 0, no restart.
 */
export const databaseBlackhole: Scenario = {
  id: 9,
  name: 'database blackhole',
  quick: false,
  timeoutMs: 180_000,
  async run(ctx) {
    const blackholeMs = ctx.quick ? 10_000 : 60_000
    const proxy = await new TcpProxy({ host: '127.0.0.1', port: ctx.postgres.port }).start()
    ctx.onCleanup(() => proxy.close())
    const workers = await Promise.all(
      [1, 2].map((n) => ctx.driver.start(`worker-${n}`, ctx.serviceEnv({ ROLE: 'worker', DATABASE_URL: proxy.route(ctx.databaseUrl) }))),
    )
    const startsBefore = ctx.driver.starts
    // A steady trickle before, during and after: 20 messages a second.
    const ids: string[] = []
    let inserting = true
    const inserter = (async () => {
      for (let i = 0; inserting; i += 1) {
        ids.push(...(await insertMessages(ctx.pool, 4, `blackhole ${i}`)))
        await sleep(200)
      }
    })()
    await sleep(3_000)
    const receiptsBefore = ctx.provider.ledger.length
    proxy.blackhole()
    const blackholedAt = Date.now()
    await sleep(blackholeMs)
    const duringBlackhole = ctx.provider.ledger.filter((entry) => entry.at > blackholedAt + 1_000).length
    proxy.heal()
    const healedAt = Date.now()
    await sleep(3_000)
    inserting = false
    await inserter
    const report = await ctx.check(ids, { drainTimeoutMs: 60_000 })
    const firstAfter = ctx.provider.ledger.find((entry) => entry.at > healedAt)
    // What the dispatchers logged while the link was dead: their timeouts, not silence.
    const timeouts = workers
      .flatMap((w) => w.process.output().split('\n'))
      .filter((line) => line.includes('"level":50') || line.includes('"level":40'))
      .filter((line) => {
        const time = (JSON.parse(line) as { time: number }).time
        return time > blackholedAt && time < healedAt
      }).length
    ctx.expect('dispatchers alive, never restarted', workers.every((w) => w.alive) && ctx.driver.starts === startsBefore)
    ctx.expect('dispatchers reported timeouts during the blackhole', timeouts > 0, timeouts)
    ctx.expect('sending resumed after the link came back', firstAfter !== undefined, firstAfter)
    ctx.expect('every message sent', report.sent === ids.length, { sent: report.sent, messages: ids.length })
    return {
      messages: ids.length,
      blackhole_ms: blackholeMs,
      receipts_before: receiptsBefore,
      receipts_during: duringBlackhole,
      errors_logged_during: timeouts,
      resumed_after_ms: firstAfter ? firstAfter.at - healedAt : null,
    }
  },
}
