import { until } from '../../helpers/service-process.ts'
import { phoneNumberOf } from '../load-generator.ts'
import { round, type Scenario } from '../scenario.ts'

/**
 * 22. SIGTERM while a dispatcher has 50 rows in flight (the provider takes 1.5 s) and the
 * other 50 claimed ahead, queued for a call. The in-flight sends must finish and be
 * recorded, the queued rows must go back unsent (pending, due at once, no attempt
 * counted), no row may stay held (so nothing waits for a lease), and the process must
 * exit within its grace period (PROVIDER_TIMEOUT_MS + 5 s).
 */
export const gracefulShutdown: Scenario = {
  id: 22,
  name: 'graceful shutdown with 50 claimed rows',
  quick: true,
  timeoutMs: 60_000,
  async run(ctx) {
    const inFlight = 50
    const providerTimeoutMs = 3_000
    const graceMs = providerTimeoutMs + 5_000
    ctx.provider.mode = { kind: 'ok', delayMs: 1_500 }
    const workerEnv = ctx.serviceEnv({
      ROLE: 'worker',
      DISPATCH_CONCURRENCY: String(inFlight),
      DISPATCH_BATCH_SIZE: String(inFlight),
      PROVIDER_TIMEOUT_MS: String(providerTimeoutMs),
      LEASE_MS: '9000',
    })
    const [api, worker] = await Promise.all([ctx.driver.start('api', ctx.serviceEnv({ ROLE: 'api' })), ctx.driver.start('worker', workerEnv)])
    await ctx.load.runBatches({
      count: 2 * inFlight,
      batchSize: 2 * inFlight,
      concurrency: 1,
      targets: () => [api.url],
      keyPrefix: 'shutdown',
      body: (i) => ({ to: phoneNumberOf(i), text: `shutdown ${i}` }),
    })
    await until(() => ctx.provider.ledger.length === inFlight, '50 calls in flight', 10_000)
    const sending = async () =>
      (await ctx.pool.query<{ sending: number }>(`SELECT count(*)::int AS sending FROM sms_outbox.messages WHERE status = 'sending'`)).rows[0]
    // The claim ahead follows the first at once, and all 100 stay sending until the first
    // outcomes are written, 1.5 s on.
    let held = { sending: 0 }
    await until(async () => (held = await sending()).sending === 2 * inFlight, '50 more claimed ahead', 3_000)
    const stopping = performance.now()
    await ctx.driver.kill(worker, 'SIGTERM')
    const exitCode = await worker.exited
    const exitMs = performance.now() - stopping
    const { rows: [after] } = await ctx.pool.query<{ sent: number; sending: number; pending_due: number; untouched: number }>(`
      SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent,
             count(*) FILTER (WHERE status = 'sending')::int AS sending,
             count(*) FILTER (WHERE status = 'pending' AND next_attempt_at <= now())::int AS pending_due,
             count(*) FILTER (WHERE status = 'pending' AND attempts = 0)::int AS untouched
      FROM sms_outbox.messages`)
    ctx.expect('100 rows held when SIGTERM came: 50 in calls, 50 queued', held.sending === 2 * inFlight, held)
    ctx.expect('exit code 0', exitCode === 0, exitCode)
    ctx.expect('exit within the grace period', exitMs < graceMs, round(exitMs, 0))
    ctx.expect('in-flight sends finished and recorded', after.sent === inFlight, after)
    ctx.expect('no row left held under a lease', after.sending === 0, after)
    ctx.expect('the queued rows back, pending, due at once, never attempted', after.pending_due === inFlight && after.untouched === inFlight, after)

    await ctx.driver.start('worker-after', workerEnv)
    await ctx.check(ctx.load.acceptedIds().values(), { leaseMs: 0 })
    return {
      claimed_at_sigterm: held.sending,
      exit_code: exitCode,
      exit_ms: round(exitMs, 0),
      grace_ms: graceMs,
      sent_at_exit: after.sent,
      held_at_exit: after.sending,
      pending_due_at_exit: after.pending_due,
    }
  },
}
