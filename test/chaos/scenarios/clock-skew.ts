import { fileURLToPath } from 'node:url'
import { backoffDelayMs } from '../../../src/outbox/dispatch/backoff.ts'
import { until } from '../../helpers/service-process.ts'
import { phoneNumberOf } from '../load-generator.ts'
import { CHAOS_SERVICE_ENV, round, type Scenario } from '../scenario.ts'

const PRELOAD = fileURLToPath(new URL('../clock-skew.ts', import.meta.url))
const policy = {
  baseDelayMs: Number(CHAOS_SERVICE_ENV.RETRY_BASE_DELAY_MS),
  maxDelayMs: Number(CHAOS_SERVICE_ENV.RETRY_MAX_DELAY_MS),
  jitter: 'none' as const,
}

/**
 * 16. The dispatchers' clock is 10 minutes fast, then 10 minutes slow. Retry gaps and
 * lease expiry must not move: every deadline comes from the database's now(). A skewed
 * dispatcher retries 503s (gaps measured in database time), then holds a hung call whose
 * lease is read straight from the row, is killed, and a second skewed dispatcher reclaims
 * the row once that lease has run out.
 */
export const clockSkew: Scenario = {
  id: 16,
  name: 'dispatcher clock skewed +-10 min',
  quick: false,
  timeoutMs: 90_000,
  async run(ctx) {
    // The hung call must still be open when the harness kills its dispatcher, after the
    // retried messages are through: a 2.5 s provider timeout leaves room for that.
    const leaseMs = 5_000
    const timing = { PROVIDER_TIMEOUT_MS: '2500', LEASE_MS: String(leaseMs) }
    const perPhase = 10
    const api = await ctx.driver.start('api', ctx.serviceEnv({ ROLE: 'api' }))
    const figures: Record<string, unknown> = {}
    for (const offsetMs of [600_000, -600_000]) {
      const phase = offsetMs > 0 ? 'fast' : 'slow'
      const skewed = ctx.serviceEnv({
        ROLE: 'worker',
        ...timing,
        CHAOS_CLOCK_OFFSET_MS: String(offsetMs),
        NODE_OPTIONS: `--import tsx --import ${PRELOAD}`,
      })
      const first = await ctx.driver.start(`worker-${phase}-1`, skewed)
      const logTime = JSON.parse(first.process.output().split('\n')[0]) as { time: number }
      ctx.expect(`${phase}: the dispatcher's clock is skewed`, Math.abs(logTime.time - Date.now() - offsetMs) < 30_000, logTime.time - Date.now())

      // Retries: two 503s then ok. Hang: the first call of the last message never answers.
      const hangIndex = perPhase
      ctx.provider.rule = ({ n, to }) =>
        to === phoneNumberOf(hangIndex) ? (n === 1 ? { kind: 'hang' } : undefined) : n <= 2 ? { kind: 'status', status: 503 } : undefined
      ctx.load.logs.clear()
      await ctx.load.runBatches({
        count: perPhase + 1,
        batchSize: perPhase + 1,
        concurrency: 1,
        targets: () => [api.url],
        keyPrefix: `skew-${phase}`,
        body: (i) => ({ to: phoneNumberOf(i), text: `skew ${phase} ${i}` }),
      })
      const ids = [...ctx.load.acceptedIds().values()]
      const hungId = ctx.load.acceptedIds().get(`skew-${phase}-${hangIndex}`)!
      await until(async () => {
        const { rows } = await ctx.pool.query(`SELECT 1 FROM sms_outbox.messages WHERE id = ANY($1::uuid[]) AND status = 'sent'`, [ids])
        return rows.length === perPhase && (ctx.provider.requestsPerId.get(hungId) ?? 0) === 1
      }, 'the retried messages sent and the hung call held', 20_000)
      // The claim sets updated_at and locked_until from one now() (the attempt's own row
      // is written only with its outcome, so a call in flight has none yet).
      const { rows: held } = await ctx.pool.query<{ lease_ms: number }>(
        `SELECT (extract(epoch FROM locked_until - updated_at) * 1000)::float AS lease_ms
         FROM sms_outbox.messages WHERE id = $1 AND status = 'sending'`,
        [hungId],
      )
      ctx.expect(`${phase}: lease ends LEASE_MS after the claim, in database time`, held.length === 1 && Math.abs(held[0].lease_ms - leaseMs) < 1, held)
      await ctx.driver.kill(first)
      await ctx.driver.start(`worker-${phase}-2`, skewed)
      await until(async () => {
        const { rows } = await ctx.pool.query(`SELECT 1 FROM sms_outbox.messages WHERE id = $1 AND status = 'sent'`, [hungId])
        return rows.length === 1
      }, 'the hung message reclaimed and sent', 20_000)

      const { rows: attempts } = await ctx.pool.query<{ id: string; attempt: number; error_code: string | null; gap_ms: number | null; held_ms: number }>(`
        SELECT message_id AS id, attempt, error_code,
               (extract(epoch FROM finished_at - started_at) * 1000)::float AS held_ms,
               (extract(epoch FROM started_at - lag(finished_at) OVER w) * 1000)::float AS gap_ms
        FROM sms_outbox.message_attempts WHERE message_id = ANY($1::uuid[])
        WINDOW w AS (PARTITION BY message_id ORDER BY attempt)`, [ids])
      const gaps = attempts.filter((a) => a.id !== hungId && a.gap_ms !== null).map((a) => a.gap_ms! - backoffDelayMs(a.attempt - 1, policy))
      const reclaim = attempts.find((a) => a.id === hungId && a.attempt === 1)!
      ctx.expect(`${phase}: retry gaps match the backoff`, gaps.length === 2 * perPhase && gaps.every((g) => g >= -1 && g <= 1_000), gaps.map((g) => round(g, 0)))
      ctx.expect(`${phase}: reclaimed only after the lease ended`, reclaim.error_code === 'lease_expired' && reclaim.held_ms >= leaseMs, reclaim)
      figures[`${phase}_retry_lateness_max_ms`] = round(Math.max(...gaps), 0)
      figures[`${phase}_lease_ms_in_db`] = round(held[0]?.lease_ms ?? -1, 1)
      figures[`${phase}_reclaimed_after_ms`] = round(reclaim.held_ms, 0)
      await ctx.driver.stopAll()
      ctx.provider.rule = undefined
      await ctx.driver.start('api', ctx.serviceEnv({ ROLE: 'api' })).then((fresh) => Object.assign(api, { url: fresh.url }))
    }
    await ctx.driver.start('worker', ctx.serviceEnv({ ROLE: 'worker' }))
    const all = (await ctx.pool.query<{ id: string }>(`SELECT id FROM sms_outbox.messages`)).rows.map((r) => r.id)
    await ctx.check(all, { leaseMs })
    return { offsets_ms: [600_000, -600_000], lease_ms: leaseMs, ...figures }
  },
}
