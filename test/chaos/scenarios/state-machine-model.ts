import fc from 'fast-check'
import { cancelMessage } from '../../../src/admin/cancel-message.ts'
import { retryMessage } from '../../../src/admin/retry-messages.ts'
import { connectDatabase, type Database } from '../../../src/db/database.ts'
import { claimDue } from '../../../src/outbox/dispatch/claim-due.ts'
import { enqueueMessages } from '../../../src/outbox/enqueue/enqueue.ts'
import { prepareMessage } from '../../../src/outbox/enqueue/prepare-message.ts'
import { reclaimExpired } from '../../../src/outbox/dispatch/reclaim-expired.ts'
import { recordOutcomes, type AttemptResult } from '../../../src/outbox/dispatch/record-outcomes.ts'
import type { Scenario } from '../scenario.ts'

type Status = 'pending' | 'sending' | 'sent' | 'dead' | 'expired' | 'canceled'

/** What the model believes of one message. */
interface ModelMessage {
  status: Status
  counted: number
  maxRetries: number
  /** The lease the live dispatcher holds, if any. */
  lease?: string
  /** The lease has run out (the row is still `sending` until reclaimed). */
  leaseExpired: boolean
  /** A lease whose dispatcher crashed: still the row's token until it is reclaimed. */
  forgotten?: string
  /** Every token this message was claimed under and that the row no longer carries. */
  staleTokens: string[]
}

interface Model {
  messages: Map<string, ModelMessage>
  /** Stale acks that changed a row (must stay 0). */
  staleWrites: number
}

interface Real {
  db: Database
}

const result = (id: string, leaseToken: string, kind: 'ok' | 'retryable' | 'permanent', message: ModelMessage): AttemptResult => {
  const dead = kind === 'permanent' || (kind === 'retryable' && message.counted > message.maxRetries)
  return {
    id,
    leaseToken,
    status: kind === 'ok' ? 'sent' : dead ? 'dead' : 'pending',
    delayMs: 0,
    counted: true,
    outcome: kind,
    errorCode: kind === 'ok' ? null : `model_${kind}`,
    errorMessage: kind === 'ok' ? null : 'model',
    httpStatus: null,
    latencyMs: 1,
    providerMessageId: null,
  }
}

/** Compares every row with the model, and the invariants no command may break. */
async function checkAgainstModel(model: Model, real: Real): Promise<void> {
  const { rows } = await real.db.pool.query<{ id: string; status: Status; counted_attempts: number; max_retries: number; lease_token: string | null }>(
    `SELECT id, status, counted_attempts, max_retries, lease_token FROM sms_outbox.messages`,
  )
  if (rows.length !== model.messages.size) throw new Error(`rows ${rows.length} != model ${model.messages.size}`)
  for (const row of rows) {
    const expected = model.messages.get(row.id)!
    if (row.status !== expected.status) throw new Error(`${row.id}: status ${row.status}, model ${expected.status}`)
    if (row.counted_attempts !== expected.counted) throw new Error(`${row.id}: counted ${row.counted_attempts}, model ${expected.counted}`)
    if (row.counted_attempts > row.max_retries + 1) throw new Error(`${row.id}: attempts past the budget`)
    if ((row.status === 'sending') !== (row.lease_token !== null)) throw new Error(`${row.id}: lease outside sending`)
  }
  if (model.staleWrites > 0) throw new Error(`${model.staleWrites} stale acks changed a row`)
}

const commands = [
  fc.integer({ min: 0, max: 2 }).map((maxRetries) => ({
    check: () => true,
    async run(model: Model, real: Real) {
      const [{ message }] = await enqueueMessages(real.db.pool, [prepareMessage({ to: '010-1234-5678', text: 'model' }, { defaultMaxRetries: maxRetries })], 86_400)
      model.messages.set(message.id, { status: 'pending', counted: 0, maxRetries, leaseExpired: false, staleTokens: [] })
      await checkAgainstModel(model, real)
    },
    toString: () => `enqueue(maxRetries ${maxRetries})`,
  })),
  fc.integer({ min: 1, max: 3 }).map((limit) => ({
    check: () => true,
    async run(model: Model, real: Real) {
      const pending = [...model.messages.values()].filter((m) => m.status === 'pending').length
      const { messages: claimed } = await claimDue(real.db.pool, { limit, leaseMs: 60_000, provider: 'webhook', probeIntervalMs: 60_000 })
      if (claimed.length !== Math.min(limit, pending)) throw new Error(`claimed ${claimed.length} of ${pending} pending, limit ${limit}`)
      for (const row of claimed) {
        const m = model.messages.get(row.id)!
        if (m.status !== 'pending') throw new Error(`claimed a ${m.status} row`)
        Object.assign(m, { status: 'sending', counted: m.counted + 1, lease: row.leaseToken, leaseExpired: false })
      }
      await checkAgainstModel(model, real)
    },
    toString: () => `claim(${limit})`,
  })),
  fc.tuple(fc.nat(), fc.constantFrom('ok' as const, 'retryable' as const, 'permanent' as const)).map(([pick, kind]) => ({
    check: (model: Readonly<Model>) => [...model.messages.values()].some((m) => m.lease),
    async run(model: Model, real: Real) {
      const held = [...model.messages.entries()].filter(([, m]) => m.lease)
      const [id, m] = held[pick % held.length]
      const outcome = result(id, m.lease!, kind, m)
      const written = await recordOutcomes(real.db.pool, [outcome])
      // The fence is the token and `sending`, not the clock: an expired but unreclaimed lease still acks.
      if (m.status !== 'sending') throw new Error('model: a held lease on a row not sending')
      if (written.length !== 1) throw new Error(`ack of a live lease wrote ${written.length} rows`)
      m.status = outcome.status
      m.staleTokens.push(m.lease!)
      m.lease = undefined
      await checkAgainstModel(model, real)
    },
    toString: () => `ack(#${pick}, ${kind})`,
  })),
  fc.tuple(fc.nat(), fc.constantFrom('ok' as const, 'retryable' as const)).map(([pick, kind]) => ({
    check: (model: Readonly<Model>) => [...model.messages.values()].some((m) => m.staleTokens.length > 0),
    async run(model: Model, real: Real) {
      const stale = [...model.messages.entries()].filter(([, m]) => m.staleTokens.length > 0)
      const [id, m] = stale[pick % stale.length]
      const written = await recordOutcomes(real.db.pool, [result(id, m.staleTokens[pick % m.staleTokens.length], kind, m)])
      model.staleWrites += written.length
      await checkAgainstModel(model, real)
    },
    toString: () => `staleAck(#${pick}, ${kind})`,
  })),
  fc.nat().map((pick) => ({
    check: (model: Readonly<Model>) => [...model.messages.values()].some((m) => m.status === 'sending' && !m.leaseExpired),
    async run(model: Model, real: Real) {
      const live = [...model.messages.entries()].filter(([, m]) => m.status === 'sending' && !m.leaseExpired)
      const [id, m] = live[pick % live.length]
      // Time passing for one row: its lease ends now.
      await real.db.pool.query(`UPDATE sms_outbox.messages SET locked_until = now() - interval '1 millisecond' WHERE id = $1`, [id])
      m.leaseExpired = true
      await checkAgainstModel(model, real)
    },
    toString: () => `expireLease(#${pick})`,
  })),
  fc.constant({
    check: () => true,
    async run(model: Model, real: Real) {
      const expired = [...model.messages.entries()].filter(([, m]) => m.status === 'sending' && m.leaseExpired)
      const reclaimed = await reclaimExpired(real.db.pool, { limit: 100 })
      if (reclaimed.length !== expired.length) throw new Error(`reclaimed ${reclaimed.length}, model expects ${expired.length}`)
      for (const row of reclaimed) {
        const m = model.messages.get(row.id)!
        const status: Status = m.counted > m.maxRetries ? 'dead' : 'pending'
        if (row.status !== status) throw new Error(`reclaimed as ${row.status}, model ${status}`)
        const token = m.lease ?? m.forgotten
        if (token) m.staleTokens.push(token)
        Object.assign(m, { status, lease: undefined, forgotten: undefined, leaseExpired: false })
      }
      await checkAgainstModel(model, real)
    },
    toString: () => 'reclaim',
  }),
  fc.nat().map((pick) => ({
    check: (model: Readonly<Model>) => model.messages.size > 0,
    async run(model: Model, real: Real) {
      const [id, m] = [...model.messages.entries()][pick % model.messages.size]
      const outcome = await retryMessage(real.db.prisma, id, { actor: 'model', ttlSeconds: 86_400 })
      const expected = m.status === 'dead' || m.status === 'expired' ? 'retried' : m.status === 'pending' || m.status === 'sending' ? 'unchanged' : 'not_retryable'
      if (outcome.result !== expected) throw new Error(`admin retry of a ${m.status} row: ${outcome.result}, expected ${expected}`)
      if (expected === 'retried') Object.assign(m, { status: 'pending', counted: 0 })
      await checkAgainstModel(model, real)
    },
    toString: () => `adminRetry(#${pick})`,
  })),
  fc.nat().map((pick) => ({
    check: (model: Readonly<Model>) => model.messages.size > 0,
    async run(model: Model, real: Real) {
      const [id, m] = [...model.messages.entries()][pick % model.messages.size]
      const outcome = await cancelMessage(real.db.prisma, id, { actor: 'model' })
      const expected = m.status === 'pending' ? 'canceled' : m.status === 'canceled' ? 'unchanged' : 'not_cancelable'
      if (outcome.result !== expected) throw new Error(`cancel of a ${m.status} row: ${outcome.result}, expected ${expected}`)
      if (expected === 'canceled') m.status = 'canceled'
      await checkAgainstModel(model, real)
    },
    toString: () => `cancel(#${pick})`,
  })),
  fc.constant({
    check: () => true,
    async run(model: Model, real: Real) {
      // The dispatcher dies: it forgets every lease; the rows stay `sending` until reclaimed.
      for (const m of model.messages.values()) {
        if (m.lease) m.forgotten = m.lease
        m.lease = undefined
      }
      await checkAgainstModel(model, real)
    },
    toString: () => 'crash',
  }),
]

/**
 * 18. A model of the state machine against the real schema and the real statements:
 * fast-check picks sequences of enqueue, claim, ack (ok, retryable, permanent), stale ack,
 * lease expiry, reclaim, admin retry, cancel and dispatcher crash, and after every step
 * the table must match the model: terminal states absorbing (only an admin retry moves
 * dead back), attempts within the budget, and a stale ack changing 0 rows.
 */
export const stateMachineModel: Scenario = {
  id: 18,
  name: 'state machine model (fast-check commands)',
  quick: true,
  timeoutMs: 120_000,
  async run(ctx) {
    const runs = ctx.quick ? 40 : 300
    const db = connectDatabase(ctx.databaseUrl, { poolSize: 2 })
    ctx.onCleanup(() => db.close())
    let steps = 0
    let failure: string | undefined
    try {
      await fc.assert(
        fc.asyncProperty(fc.commands(commands, { maxCommands: 60, size: 'large' }), async (cmds) => {
          await db.pool.query('TRUNCATE sms_outbox.messages, sms_outbox.admin_actions CASCADE')
          const model: Model = { messages: new Map(), staleWrites: 0 }
          await fc.asyncModelRun(() => ({ model, real: { db } }), cmds)
          steps += [...cmds].length
        }),
        { numRuns: runs, seed: 2026_11_29 },
      )
    } catch (error) {
      failure = String(error).slice(0, 2_000)
    }
    // Terminal states are absorbing because the table matches the model after every step,
    // and the model leaves one only through an admin retry of a dead row.
    ctx.expect('the table always matched the model', failure === undefined, failure)
    return { runs, commands_run: steps }
  },
}
