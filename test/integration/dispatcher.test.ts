import { pino } from 'pino'
import t from 'tap'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { attemptsOf, enqueue, runningDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

/**
 * The wait the last recorded outcome scheduled, in seconds. `next_attempt_at` and
 * `updated_at` come from one statement's now(), so the difference is the delay exactly,
 * however slow the machine.
 */
async function scheduledWaitSeconds(db: TestDatabase, id: string): Promise<number> {
  const [row] = await db.sql<{ seconds: number }>(
    `SELECT extract(epoch FROM next_attempt_at - updated_at)::float AS seconds FROM sms_outbox.messages WHERE id = $1 AND status = 'pending'`,
    [id],
  )
  return row.seconds
}

/** Moves a waiting retry's due time to now: the test's clock, so that a 30 s step takes no 30 s. */
const makeDue = (db: TestDatabase, id: string) => db.sql(`UPDATE sms_outbox.messages SET next_attempt_at = now() WHERE id = $1`, [id])

t.test('sent on the first try', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  const id = await enqueue(db, { text: '결과가 준비되었습니다' })
  const { watch } = runningDispatcher(t, db, fake.url)

  t.equal(await watch.attempt(id), 'sent')
  const [row] = await db.sql('SELECT status, attempts, sent_at, lease_token, locked_until FROM sms_outbox.messages WHERE id = $1', [id])
  t.match(row, { status: 'sent', attempts: 1, lease_token: null, locked_until: null })
  t.ok(row.sent_at instanceof Date)
  t.match(await attemptsOf(db, id), [{ attempt: 1, outcome: 'ok', http_status: 200 }])
  t.match(fake.ledger, [{ id, to: '+821012345678', text: '결과가 준비되었습니다', type: 'SMS' }])
  t.match(await watch.pass(1), { claimed: 1 }, 'the first pass claimed it')
})

t.test('503 twice then ok: sent on the third attempt, no retry before its backoff ended', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = (_receipt, n) => (n <= 2 ? { status: 503 } : { status: 200 })
  const id = await enqueue(db)
  const { watch } = runningDispatcher(t, db, fake.url)

  t.equal(await watch.settled(db, id), 'sent')
  const attempts = await attemptsOf(db, id)
  t.same(attempts.map((a) => a.outcome), ['retryable', 'retryable', 'ok'])
  t.same(attempts.map((a) => a.http_status), [503, 503, 200])
  // The 40 and 80 ms steps of fastBackoff, on the database's clock: claims never run early.
  const gaps = await db.sql<{ attempt: number; waited: boolean }>(
    `SELECT b.attempt, b.started_at >= a.finished_at + (CASE a.attempt WHEN 1 THEN 40 ELSE 80 END) * interval '1 millisecond' AS waited
     FROM sms_outbox.message_attempts a JOIN sms_outbox.message_attempts b ON b.message_id = a.message_id AND b.attempt = a.attempt + 1
     WHERE a.message_id = $1 ORDER BY b.attempt`,
    [id],
  )
  t.same(gaps, [{ attempt: 2, waited: true }, { attempt: 3, waited: true }])
  t.equal(fake.ledger.length, 3)
})

t.test('always 503 with the default backoff: waits of 1, 2, 4, 8, 16, 30, 30 s, then dead after maxRetries + 1 attempts', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = () => ({ status: 503, body: 'maintenance' })
  const id = await enqueue(db, { maxRetries: 7 })
  // RETRY_BASE_DELAY_MS and RETRY_MAX_DELAY_MS defaults; the test moves each due time to now.
  const { watch } = runningDispatcher(t, db, fake.url, { backoff: { baseDelayMs: 1_000, maxDelayMs: 30_000, jitter: 'none' } })

  const waits: number[] = []
  for (let attempt = 1; attempt <= 7; attempt += 1) {
    t.equal(await watch.attempt(id, attempt), 'pending', `attempt ${attempt} scheduled a retry`)
    waits.push(await scheduledWaitSeconds(db, id))
    await makeDue(db, id)
  }
  t.same(waits, [1, 2, 4, 8, 16, 30, 30], 'the documented table')
  t.equal(await watch.attempt(id, 8), 'dead')
  const [row] = await db.sql('SELECT status, attempts, last_error_code, last_error FROM sms_outbox.messages WHERE id = $1', [id])
  t.match(row, { status: 'dead', attempts: 8, last_error_code: 'http_503', last_error: /maintenance/ })
  t.equal(fake.ledger.length, 8)
})

t.test('RETRY_MAX_RETRIES=3 means 4 attempts, then dead', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = () => ({ status: 500 })
  const id = await enqueue(db)
  const { watch } = runningDispatcher(t, db, fake.url)
  t.equal(await watch.settled(db, id), 'dead')
  t.same((await attemptsOf(db, id)).map((a) => a.outcome), ['ambiguous', 'ambiguous', 'ambiguous', 'ambiguous'])
})

t.test('a 400 is permanent: dead after 1 attempt', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = () => ({ status: 400, body: '{"error":"invalid recipient"}' })
  const id = await enqueue(db)
  const { watch } = runningDispatcher(t, db, fake.url)
  t.equal(await watch.settled(db, id), 'dead')
  t.match(await attemptsOf(db, id), [{ attempt: 1, outcome: 'permanent', http_status: 400 }])
  t.equal(fake.ledger.length, 1)
})

t.test('429 waits Retry-After, and no pass claims the message before then', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = (_receipt, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '60' } } : { status: 200 })
  const id = await enqueue(db)
  const { watch } = runningDispatcher(t, db, fake.url)
  t.equal(await watch.attempt(id), 'pending')
  t.equal(await scheduledWaitSeconds(db, id), 60, 'Retry-After beats the 40 ms backoff')
  t.match(await attemptsOf(db, id), [{ outcome: 'rate_limited' }])
  // Two whole passes after the answer: the row was there to claim, and was not due.
  t.same((await watch.nextPasses(2)).map((pass) => pass.claimed), [0, 0])
  t.equal(fake.ledger.length, 1)
})

t.test('a hung provider is cut off at the timeout, recorded ambiguous, and retried', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = (_receipt, n) => (n === 1 ? { hang: true } : { status: 200 })
  const id = await enqueue(db)
  const { watch } = runningDispatcher(t, db, fake.url, { providerTimeoutMs: 200 })
  t.equal(await watch.settled(db, id), 'sent')
  t.match(await attemptsOf(db, id), [
    { attempt: 1, outcome: 'ambiguous', error_code: 'timeout' },
    { attempt: 2, outcome: 'ok' },
  ])
})

t.test('a message per-message maxRetries of 0 gets exactly one attempt', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = () => ({ status: 503 })
  const id = await enqueue(db, { maxRetries: 0 })
  const { watch } = runningDispatcher(t, db, fake.url)
  t.equal(await watch.settled(db, id), 'dead')
  t.equal((await attemptsOf(db, id)).length, 1)
})

t.test('a message past expiresAt expires instead of being sent', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  const id = await enqueue(db)
  await db.sql(`UPDATE sms_outbox.messages SET expires_at = now() - interval '1 second' WHERE id = $1`, [id])
  const { watch } = runningDispatcher(t, db, fake.url)
  t.equal(await watch.settled(db, id), 'expired')
  t.match(await watch.pass(1), { claimed: 0, expired: 1 }, 'the first pass claimed nothing and its sweep expired it')
  const [row] = await db.sql('SELECT status, attempts FROM sms_outbox.messages WHERE id = $1', [id])
  t.match(row, { status: 'expired', attempts: 0 })
  t.equal(fake.ledger.length, 0)
})

t.test('a retry is never scheduled past expiresAt', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = () => ({ status: 503 })
  const id = await enqueue(db, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() })
  const { watch } = runningDispatcher(t, db, fake.url, {
    backoff: { baseDelayMs: 7_200_000, maxDelayMs: 7_200_000, jitter: 'none' },
  })
  t.equal(await watch.attempt(id), 'pending')
  const [row] = await db.sql('SELECT status, next_attempt_at, expires_at FROM sms_outbox.messages WHERE id = $1', [id])
  t.equal(row.status, 'pending')
  t.equal(row.next_attempt_at.getTime(), row.expires_at.getTime())
})

t.test('sendAt in the future holds the message until then', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  const { watch } = runningDispatcher(t, db, fake.url)
  const id = await enqueue(db, { sendAt: new Date(Date.now() + 3_600_000).toISOString() })
  t.same(await watch.nextPasses(2), [
    { claimed: 0, reclaimed: 0, expired: 0 },
    { claimed: 0, reclaimed: 0, expired: 0 },
  ])
  t.equal(fake.ledger.filter((r) => r.id === id).length, 0)
})

t.test('a row claimed ahead is given back unsent when its lease could run out during its call, and sent on a fresh claim', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  // The first call takes 1.5 s. Meanwhile the other row waits in the queue (one call at a
  // time), and 1.5 s + PROVIDER_TIMEOUT_MS + the 1 s margin is more than its 5 s lease.
  fake.reply = () => (fake.requests === 1 ? { status: 200, delayMs: 1_500 } : { status: 200 })
  const ids = [await enqueue(db, { text: 'first' }), await enqueue(db, { text: 'second' })]
  const lines: string[] = []
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) })
  const { watch } = runningDispatcher(t, db, fake.url, { concurrency: 1, leaseMs: 5_000, providerTimeoutMs: 3_000, log })
  t.same(await Promise.all(ids.map((id) => watch.settled(db, id))), ['sent', 'sent'])
  t.ok(lines.some((line) => line.includes('gave back 1 claimed messages unsent')), 'the queued row went back')
  const attempts = await Promise.all(ids.map((id) => attemptsOf(db, id)))
  t.match(attempts, [[{ attempt: 1, outcome: 'ok' }], [{ attempt: 1, outcome: 'ok' }]], 'one attempt each: the given-back claim left none behind')
  t.same(attempts.map((rows) => rows.length), [1, 1])
  t.same(fake.ledger.map((receipt) => receipt.id).sort(), [...ids].sort(), 'each reached the provider once')
})
