import { connectDatabase, type Database } from '../../../src/db/database.ts'
import { claimDue, type ClaimedMessage } from '../../../src/outbox/dispatch/claim-due.ts'
import { enqueueMessages } from '../../../src/outbox/enqueue/enqueue.ts'
import { prepareMessage } from '../../../src/outbox/enqueue/prepare-message.ts'
import { reclaimExpired } from '../../../src/outbox/dispatch/reclaim-expired.ts'
import { recordOutcomes, type AttemptResult } from '../../../src/outbox/dispatch/record-outcomes.ts'
import { settle } from '../../../src/outbox/dispatch/settle.ts'
import { until } from '../../helpers/service-process.ts'
import { withDatabase } from '../harness-postgres.ts'
import { sleep, type Scenario, type ScenarioContext } from '../scenario.ts'

/** The ack a dispatcher writes when the provider said ok (the backoff policy is unused). */
const okResult = (message: ClaimedMessage): AttemptResult =>
  settle(message, { kind: 'ok', httpStatus: 200 }, 1, { baseDelayMs: 1_000, maxDelayMs: 30_000, jitter: 'none' })

/** Rows claimed under a 1 ms lease that has run out: each may be reclaimed or acked. */
async function expiredLeases(database: Database, count: number): Promise<ClaimedMessage[]> {
  const messages = Array.from({ length: count }, (_, i) => prepareMessage({ to: '010-1234-5678', text: `race ${i}` }, { defaultMaxRetries: 3 }))
  await enqueueMessages(database.pool, messages, 86_400)
  const { messages: claimed } = await claimDue(database.pool, { limit: count, leaseMs: 1, provider: 'webhook', probeIntervalMs: 60_000 })
  await sleep(5)
  return claimed
}

/** Cancels the rows earlier rounds left pending, so that the next claim takes only new ones. */
async function retireLeftovers(ctx: ScenarioContext): Promise<void> {
  await ctx.pool.query(`UPDATE sms_outbox.messages SET status = 'canceled' WHERE status = 'pending'`)
}

/** Sent rows as they stand: any later write to one would change this. */
async function sentRows(ctx: ScenarioContext): Promise<string> {
  const { rows } = await ctx.pool.query(`SELECT id, status, sent_at, updated_at, attempts FROM sms_outbox.messages WHERE status = 'sent' ORDER BY id`)
  return JSON.stringify(rows)
}

/**
 * 19. Reclaim against ack, forced with two connections. Each side in turn holds the row
 * lock inside an open transaction while the other runs; then they race unforced over many
 * rows. The ack is fenced by the lease token, the reclaim skips locked rows and takes only
 * `sending` ones, so whoever loses changes 0 rows, and a sent row is never rewritten.
 */
export const reclaimAckRace: Scenario = {
  id: 19,
  name: 'reclaim vs ack race',
  quick: true,
  timeoutMs: 60_000,
  async run(ctx) {
    const connect = (name: string): Database => connectDatabase(withDatabase(ctx.databaseUrl, ctx.databaseUrl.split('/').pop()!) + `?application_name=${name}`, { poolSize: 2 })
    const acker = connect('chaos-ack')
    const reclaimer = connect('chaos-reclaim')
    ctx.onCleanup(() => Promise.all([acker.close(), reclaimer.close()]))
    const waitingOnLock = (name: string) =>
      until(async () => {
        const { rows } = await ctx.pool.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [name])
        return rows.length > 0
      }, `${name} waiting on the row lock`, 5_000)
    const rounds = ctx.quick ? 5 : 25
    const figures = { reclaim_first_ack_changed: 0, ack_first_reclaim_changed: 0, unforced_rows: 0, unforced_sent: 0, unforced_reclaimed: 0, both_won: 0 }

    for (let round = 0; round < rounds; round += 1) {
      // Reclaim holds the lock: the ack waits, then finds a new lease token and changes nothing.
      await retireLeftovers(ctx)
      const [first] = await expiredLeases(acker, 1)
      let release!: () => void
      const gate = new Promise<void>((done) => (release = done))
      let locked!: () => void
      const lockTaken = new Promise<void>((done) => (locked = done))
      const reclaiming = (async () => {
        const client = await reclaimer.pool.connect()
        try {
          await client.query('BEGIN')
          const reclaimed = await reclaimExpired(client, { limit: 10 })
          locked()
          await gate
          await client.query('COMMIT')
          return reclaimed
        } finally {
          client.release()
        }
      })()
      await lockTaken
      const acking = recordOutcomes(acker.pool, [okResult(first)])
      await waitingOnLock('chaos-ack')
      release()
      const [reclaimed, acked] = await Promise.all([reclaiming, acking])
      figures.reclaim_first_ack_changed += acked.length
      ctx.expect('reclaim first: it takes the row', reclaimed.some((r) => r.id === first.id), reclaimed)
      ctx.expect('reclaim first: the late ack changes 0 rows', acked.length === 0, acked)

      // Ack holds the lock: the reclaim skips the row, the row ends sent and stays so.
      await retireLeftovers(ctx)
      const [second] = await expiredLeases(acker, 1)
      let commit!: () => void
      const held = new Promise<void>((done) => (commit = done))
      let ackDone!: () => void
      const ackWritten = new Promise<void>((done) => (ackDone = done))
      const ackingFirst = (async () => {
        const client = await acker.pool.connect()
        try {
          await client.query('BEGIN')
          const written = await recordOutcomes(client, [okResult(second)])
          ackDone()
          await held
          await client.query('COMMIT')
          return written
        } finally {
          client.release()
        }
      })()
      await ackWritten
      const skipped = await reclaimExpired(reclaimer.pool, { limit: 10 })
      commit()
      const written = await ackingFirst
      const before = await sentRows(ctx)
      const afterwards = await reclaimExpired(reclaimer.pool, { limit: 10 })
      figures.ack_first_reclaim_changed += skipped.filter((r) => r.id === second.id).length + afterwards.filter((r) => r.id === second.id).length
      ctx.expect('ack first: it writes the row', written.length === 1, written)
      ctx.expect('ack first: the reclaim skips the locked row', !skipped.some((r) => r.id === second.id), skipped)
      ctx.expect('a sent row is never rewritten', (await sentRows(ctx)) === before && !afterwards.some((r) => r.id === second.id))
    }

    // Unforced: 200 expired leases, every ack and a reclaim at once, from two pools.
    await retireLeftovers(ctx)
    const leases = await expiredLeases(acker, ctx.quick ? 50 : 200)
    // Small reclaims in a loop against single acks, so that both sides win some rows.
    const reclaimed: { id: string }[] = []
    const reclaiming = (async () => {
      for (let batch = await reclaimExpired(reclaimer.pool, { limit: 1 }); batch.length > 0; batch = await reclaimExpired(reclaimer.pool, { limit: 1 })) {
        reclaimed.push(...batch)
      }
    })()
    const acks = await Promise.all(leases.map((lease) => recordOutcomes(acker.pool, [okResult(lease)])))
    await reclaiming
    const sent = new Set(acks.flat())
    const taken = new Set(reclaimed.map((r) => r.id))
    figures.unforced_rows = leases.length
    figures.unforced_sent = sent.size
    figures.unforced_reclaimed = taken.size
    figures.both_won = [...sent].filter((id) => taken.has(id)).length
    const snapshot = await sentRows(ctx)
    // The losers come back late: stale acks and another reclaim change nothing sent.
    const lateAcks = await Promise.all(leases.map((lease) => recordOutcomes(acker.pool, [okResult(lease)])))
    await reclaimExpired(reclaimer.pool, { limit: 1_000 })
    ctx.expect('unforced: every row won by exactly one side', figures.both_won === 0 && sent.size + taken.size === leases.length, figures)
    ctx.expect('unforced: late acks change 0 rows', lateAcks.flat().length === 0, lateAcks.flat().length)
    ctx.expect('unforced: sent rows never rewritten', (await sentRows(ctx)) === snapshot)
    const { rows: [states] } = await ctx.pool.query<{ sent_ok: number; reclaimed_ambiguous: number }>(`
      SELECT count(*) FILTER (WHERE m.status = 'sent' AND a.outcome = 'ok')::int AS sent_ok,
             count(*) FILTER (WHERE m.status = 'pending' AND a.outcome = 'ambiguous' AND a.error_code = 'lease_expired')::int AS reclaimed_ambiguous
      FROM sms_outbox.messages m JOIN sms_outbox.message_attempts a ON a.message_id = m.id AND a.attempt = m.attempts
      WHERE m.id = ANY($1::uuid[])`, [leases.map((lease) => lease.id)])
    ctx.expect('the database agrees: winners recorded, losers left no trace', states.sent_ok === sent.size && states.reclaimed_ambiguous === taken.size, states)
    return { forced_rounds: rounds, ...figures }
  },
}
