import t from 'tap'
import { claimDue } from '../../src/outbox/dispatch/claim-due.ts'
import { reclaimExpired } from '../../src/outbox/dispatch/reclaim-expired.ts'
import { recordOutcomes } from '../../src/outbox/dispatch/record-outcomes.ts'
import { settle } from '../../src/outbox/dispatch/settle.ts'
import { connectDatabase } from '../../src/db/database.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { attemptsOf, enqueue, runningDispatcher, webhookDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

/** Outcomes in these tests are written as the dispatcher writes them (settle), with no backoff to wait for. */
const NO_BACKOFF = { baseDelayMs: 0, maxDelayMs: 0, jitter: 'none' } as const

/** A dispatcher that claimed and went quiet: its leases run out, on the database's clock. */
const expireLeases = (db: TestDatabase) =>
  db.sql(`UPDATE sms_outbox.messages SET locked_until = now() - interval '1 millisecond' WHERE status = 'sending'`)

t.test('two dispatchers on one table never send a row twice', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = () => ({ status: 200, delayMs: 5 })
  // Separate pools: two dispatchers as two processes would have.
  const other = connectDatabase(db.url, { poolSize: 5 })
  t.teardown(() => other.close())
  const ids = await Promise.all(Array.from({ length: 300 }, (_, i) => enqueue(db, { text: `message ${i}` })))
  const first = runningDispatcher(t, db, fake.url, { batchSize: 20, concurrency: 20 })
  const second = runningDispatcher(t, { ...db, prisma: other.prisma, pool: other.pool }, fake.url, { batchSize: 20, concurrency: 20 })
  // Either dispatcher's signal may be the one after which all 300 attempts are over.
  const allAttempted = () => first.watch.attempts.length + second.watch.attempts.length >= ids.length
  await Promise.race([first.watch.until(allAttempted), second.watch.until(allAttempted)])
  t.ok(first.watch.attempts.length > 0 && second.watch.attempts.length > 0, 'both dispatchers sent some')
  await Promise.all([first.dispatcher.stop(), second.dispatcher.stop()])
  t.equal(fake.ledger.length, 300, 'every message reached the provider')
  t.equal(new Set(fake.ledger.map((r) => r.id)).size, 300, 'none twice')
  const [counts] = await db.sql(`SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent, max(attempts) AS most FROM sms_outbox.messages`)
  t.same(counts, { sent: 300, most: 1 })
})

t.test('a claim that starts after its deadline claims nothing: its caller stopped waiting for it', async (t) => {
  const db = await createTestDatabase(t)
  const id = await enqueue(db)
  const [{ now }] = await db.sql(`SELECT now()`)
  const options = { limit: 10, leaseMs: 60_000, provider: 'webhook', probeIntervalMs: 1_000 }

  const late = await claimDue(db.pool, { ...options, deadline: new Date(now.getTime() - 1_000) })
  t.same(late.messages, [])
  t.match(
    (await db.sql(`SELECT status, attempts, counted_attempts, lease_token FROM sms_outbox.messages WHERE id = $1`, [id]))[0],
    { status: 'pending', attempts: 0, counted_attempts: 0, lease_token: null },
    'the row is as it was: no lease that nobody holds',
  )
  t.same(await db.sql(`SELECT * FROM sms_outbox.retry_budget_counts`), [], 'and no claim counted')

  const onTime = await claimDue(db.pool, { ...options, deadline: new Date(now.getTime() + 60_000) })
  t.same(onTime.messages.map((message) => message.id), [id])
  // What a DatabaseClock reads the database's time from.
  t.ok(Math.abs(onTime.databaseTime.getTime() - now.getTime()) < 60_000, `databaseTime ${onTime.databaseTime.toISOString()} near now()`)
})

t.test(`a dispatcher's claims carry a deadline in the database's time, once it has read that time`, async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  // The pool is the real one; it only notes each claim's deadline ($7) on its way out.
  const deadlines: (Date | null)[] = []
  const query = db.pool.query.bind(db.pool) as (...args: unknown[]) => Promise<unknown>
  db.pool.query = ((config: unknown, ...rest: unknown[]) => {
    const statement = config as { name?: string; values?: unknown[] }
    if (statement?.name === 'sms-outbox.claim-due') deadlines.push((statement.values?.[6] as Date | null) ?? null)
    return query(config, ...rest)
  }) as typeof db.pool.query
  const { watch } = runningDispatcher(t, db, fake.url)
  await watch.pass(3)
  const [{ now }] = await db.sql(`SELECT clock_timestamp() AS now`)
  t.equal(deadlines[0], null, `the first claim has no reading of the database's clock yet`)
  t.ok(deadlines.length >= 3)
  const last = deadlines.at(-1)
  if (!t.ok(last instanceof Date, 'every claim after it has one')) return
  // CONNECTION_TIMEOUT_MS + QUERY_TIMEOUT_MS (20 s) after the claim was sent, read off a
  // clock measured to within half a round trip (seconds, on a machine busy enough); the
  // claim was sent a moment before now().
  const ahead = (last as Date).getTime() - now.getTime()
  t.ok(ahead > 10_000 && ahead < 25_000, `the last deadline is ${ahead} ms after the database's now()`)
})

t.test('an expired lease is reclaimed: the interrupted attempt is written ambiguous and the row is sent again', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  const id = await enqueue(db)
  // A dispatcher claims the row and dies without a word.
  const {
    messages: [claim],
  } = await claimDue(db.pool, { limit: 10, leaseMs: 100, provider: 'webhook', probeIntervalMs: 1_000 })
  t.equal(claim.id, id)
  t.same(await reclaimExpired(db.pool, { limit: 10 }), [], 'a live lease is left alone')

  await expireLeases(db)
  const { watch } = runningDispatcher(t, db, fake.url)
  t.equal(await watch.settled(db, id), 'sent')
  t.match(await watch.pass(1), { claimed: 0, reclaimed: 1 }, 'taken back by the first sweep, claimed by a later pass')
  t.match(await attemptsOf(db, id), [
    { attempt: 1, outcome: 'ambiguous', error_code: 'lease_expired' },
    { attempt: 2, outcome: 'ok' },
  ])

  // The dead dispatcher comes back and reports: its write is fenced off.
  const written = await recordOutcomes(db.pool, [
    {
      id,
      leaseToken: claim.leaseToken,
      status: 'pending',
      delayMs: 0,
      counted: true,
      outcome: 'retryable',
      errorCode: 'late',
      errorMessage: 'late',
      httpStatus: 503,
      latencyMs: 1,
      providerMessageId: null,
    },
  ])
  t.same(written, [], 'a stale lease token changes 0 rows')
  const [row] = await db.sql('SELECT status, last_error_code FROM sms_outbox.messages WHERE id = $1', [id])
  t.same(row, { status: 'sent', last_error_code: null })
})

t.test('a claim writes no ledger row; the outcome writes one, started when the call started', async (t) => {
  const db = await createTestDatabase(t)
  const id = await enqueue(db)
  const {
    messages: [claim],
  } = await claimDue(db.pool, { limit: 1, leaseMs: 30_000, provider: 'webhook', probeIntervalMs: 1_000 })
  t.same(await attemptsOf(db, id), [], 'nothing in the ledger while the call runs')
  const answered = settle(claim, { kind: 'ok', httpStatus: 200, providerMessageId: 'p-1' }, 1_500, NO_BACKOFF)
  t.same(await recordOutcomes(db.pool, [answered]), [id])
  const [row] = await db.sql(
    `SELECT attempt, outcome, http_status, provider_message_id,
            round(extract(epoch FROM finished_at - started_at) * 1000)::int AS call_ms
     FROM sms_outbox.message_attempts WHERE message_id = $1`,
    [id],
  )
  t.same(row, { attempt: 1, outcome: 'ok', http_status: 200, provider_message_id: 'p-1', call_ms: 1_500 })
})

t.test('an attempt an earlier version opened at its claim is closed, by the outcome or by the reclaim', async (t) => {
  const db = await createTestDatabase(t)
  const [answered, abandoned] = [await enqueue(db, { text: 'answered' }), await enqueue(db, { text: 'abandoned' })]
  const { messages } = await claimDue(db.pool, { limit: 2, leaseMs: 30_000, provider: 'webhook', probeIntervalMs: 1_000 })
  // What the claim of an sms-outbox before this one wrote: the attempt's row, open.
  await db.sql(`INSERT INTO sms_outbox.message_attempts (message_id, attempt, started_at) SELECT id, attempts, now() FROM sms_outbox.messages`)
  const claim = messages.find((message) => message.id === answered)!
  const written = await recordOutcomes(db.pool, [settle(claim, { kind: 'ok', httpStatus: 200 }, 3, NO_BACKOFF)])
  t.same(written, [answered], 'the open row does not stop the outcome')
  await expireLeases(db)
  t.match(await reclaimExpired(db.pool, { limit: 10 }), [{ id: abandoned, status: 'pending' }])
  t.match(await attemptsOf(db, answered), [{ attempt: 1, outcome: 'ok', http_status: 200 }])
  t.match(await attemptsOf(db, abandoned), [{ attempt: 1, outcome: 'ambiguous', error_code: 'lease_expired' }])
})

t.test('a reclaimed row that used its last attempt is dead, not sent again', async (t) => {
  const db = await createTestDatabase(t)
  const id = await enqueue(db, { maxRetries: 0 })
  await claimDue(db.pool, { limit: 10, leaseMs: 30_000, provider: 'webhook', probeIntervalMs: 1_000 })
  await expireLeases(db)
  t.same(await reclaimExpired(db.pool, { limit: 10 }), [{ id, to: '+821012345678', status: 'dead', provider: 'webhook' }])
  const [row] = await db.sql('SELECT status, attempts, last_error_code FROM sms_outbox.messages WHERE id = $1', [id])
  t.same(row, { status: 'dead', attempts: 1, last_error_code: 'lease_expired' })
})

t.test('claims respect their limit and lease from the database clock', async (t) => {
  const db = await createTestDatabase(t)
  for (let i = 0; i < 7; i += 1) await enqueue(db)
  const { messages: claimed } = await claimDue(db.pool, { limit: 5, leaseMs: 30_000, provider: 'webhook', probeIntervalMs: 1_000 })
  t.equal(claimed.length, 5)
  t.equal(new Set(claimed.map((c) => c.leaseToken)).size, 5, 'a fresh token per row')
  const [lease] = await db.sql(
    `SELECT min(extract(epoch FROM locked_until - updated_at) * 1000)::int AS min_ms,
            max(extract(epoch FROM locked_until - updated_at) * 1000)::int AS max_ms
     FROM sms_outbox.messages WHERE status = 'sending'`,
  )
  t.same(lease, { min_ms: 30_000, max_ms: 30_000 })
  t.equal((await claimDue(db.pool, { limit: 5, leaseMs: 30_000, provider: 'webhook', probeIntervalMs: 1_000 })).messages.length, 2)
})

t.test('the state machine is guarded in the database by named constraints', async (t) => {
  const db = await createTestDatabase(t)
  const id = await enqueue(db)
  const violations: [string, string][] = [
    [`UPDATE sms_outbox.messages SET status = 'sent' WHERE id = $1`, 'messages_sent_at_only_when_sent'],
    [`UPDATE sms_outbox.messages SET status = 'sending' WHERE id = $1`, 'messages_lease_only_while_sending'],
    [`UPDATE sms_outbox.messages SET status = 'lost' WHERE id = $1`, 'messages_status_valid'],
    [`UPDATE sms_outbox.messages SET attempts = 5, counted_attempts = 5 WHERE id = $1`, 'messages_attempts_within_budget'],
    [`UPDATE sms_outbox.messages SET counted_attempts = 1 WHERE id = $1`, 'messages_attempts_within_budget'],
    [`UPDATE sms_outbox.messages SET type = 'MMS' WHERE id = $1`, 'messages_type_valid'],
  ]
  for (const [statement, constraint] of violations) {
    await t.rejects(db.sql(statement, [id]), { message: new RegExp(constraint) }, constraint)
  }
})

t.test('stopping and restarting between attempts loses nothing', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = (_receipt, n) => (n === 1 ? { status: 503 } : { status: 200 })
  const id = await enqueue(db)

  const before = webhookDispatcher(db, fake.url, { backoff: { baseDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'none' } })
  before.dispatcher.start()
  t.equal(await before.watch.attempt(id), 'pending', 'the first attempt scheduled a retry')
  await before.dispatcher.stop()
  await before.provider.close?.()
  const [between] = await db.sql('SELECT status, attempts FROM sms_outbox.messages WHERE id = $1', [id])
  t.same(between, { status: 'pending', attempts: 1 }, 'stopped cleanly with the retry scheduled')

  // A new "process": its own connections, its own dispatcher.
  const restarted = connectDatabase(db.url, { poolSize: 2 })
  t.teardown(() => restarted.close())
  await db.sql(`UPDATE sms_outbox.messages SET next_attempt_at = now() WHERE id = $1`, [id])
  const after = runningDispatcher(t, { ...db, prisma: restarted.prisma, pool: restarted.pool }, fake.url)
  t.equal(await after.watch.settled(db, id), 'sent')
  t.same((await attemptsOf(db, id)).map((a) => a.outcome), ['retryable', 'ok'])
})
