import t from 'tap'
import { backoffDelayMs } from '../../src/outbox/backoff.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { attemptsOf, enqueue, fastBackoff, tickUntilSettled, webhookDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

const db = await createTestDatabase(t)

t.test('sent on the first try', async (t) => {
  const fake = await startFakeWebhook(t)
  const { dispatcher, provider } = webhookDispatcher(db, fake.url)
  t.teardown(() => provider.close?.())
  const id = await enqueue(db, { text: '결과가 준비되었습니다' })

  t.same(await dispatcher.tick(), { reclaimed: 0, expired: 0, claimed: 1 })
  const [row] = await db.sql('SELECT status, attempts, sent_at, lease_token, locked_until FROM sms_outbox.messages WHERE id = $1', [id])
  t.match(row, { status: 'sent', attempts: 1, lease_token: null, locked_until: null })
  t.ok(row.sent_at instanceof Date)
  t.match(await attemptsOf(db, id), [{ attempt: 1, outcome: 'ok', http_status: 200 }])
  t.match(fake.ledger, [{ id, to: '+821012345678', text: '결과가 준비되었습니다', type: 'SMS' }])
})

t.test('503 twice then ok: sent after 3 attempts, each retry exactly one backoff step later', async (t) => {
  const fake = await startFakeWebhook(t)
  fake.reply = (_receipt, n) => (n <= 2 ? { status: 503 } : { status: 200 })
  const { dispatcher, provider } = webhookDispatcher(db, fake.url)
  t.teardown(() => provider.close?.())
  const id = await enqueue(db)

  const scheduled: number[] = []
  while (scheduled.length < 2) {
    await dispatcher.tick()
    const [row] = await db.sql('SELECT status, next_attempt_at FROM sms_outbox.messages WHERE id = $1', [id])
    const attempts = await attemptsOf(db, id)
    const last = attempts.at(-1)!
    if (row.status === 'pending' && attempts.length > scheduled.length) {
      // next_attempt_at and finished_at come from one statement's now(): the gap is exact.
      scheduled.push(row.next_attempt_at.getTime() - last.finished_at!.getTime())
    }
    await new Promise((done) => setTimeout(done, 10))
  }
  t.same(scheduled, [backoffDelayMs(1, fastBackoff), backoffDelayMs(2, fastBackoff)])
  t.equal(await tickUntilSettled(db, dispatcher, id), 'sent')

  const attempts = await attemptsOf(db, id)
  t.same(attempts.map((a) => a.outcome), ['retryable', 'retryable', 'ok'])
  t.same(attempts.map((a) => a.http_status), [503, 503, 200])
  for (const [index, expected] of [40, 80].entries()) {
    const gap = attempts[index + 1].started_at.getTime() - attempts[index].finished_at!.getTime()
    t.ok(gap >= expected, `attempt ${index + 2} started ${gap} ms after attempt ${index + 1} ended (>= ${expected})`)
  }
  t.equal(fake.ledger.length, 3)
})

t.test('always 503: dead after maxRetries + 1 attempts, every gap matching the table', async (t) => {
  const fake = await startFakeWebhook(t)
  fake.reply = () => ({ status: 503, body: 'maintenance' })
  const { dispatcher, provider } = webhookDispatcher(db, fake.url)
  t.teardown(() => provider.close?.())
  const id = await enqueue(db, { maxRetries: 5 })

  t.equal(await tickUntilSettled(db, dispatcher, id), 'dead')
  const attempts = await attemptsOf(db, id)
  t.equal(attempts.length, 6)
  const expected = [1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, fastBackoff))
  t.same(expected, [40, 80, 160, 200, 200], 'the capped schedule')
  for (const [index, delay] of expected.entries()) {
    const gap = attempts[index + 1].started_at.getTime() - attempts[index].finished_at!.getTime()
    t.ok(gap >= delay && gap < delay + 1_000, `gap ${index + 1}: ${gap} ms for a ${delay} ms step`)
  }
  const [row] = await db.sql('SELECT attempts, last_error_code, last_error FROM sms_outbox.messages WHERE id = $1', [id])
  t.match(row, { attempts: 6, last_error_code: 'http_503', last_error: /maintenance/ })
  t.equal(fake.ledger.length, 6)
})

t.test('RETRY_MAX_RETRIES=3 means 4 attempts, then dead', async (t) => {
  const fake = await startFakeWebhook(t)
  fake.reply = () => ({ status: 500 })
  const { dispatcher, provider } = webhookDispatcher(db, fake.url)
  t.teardown(() => provider.close?.())
  const id = await enqueue(db)
  t.equal(await tickUntilSettled(db, dispatcher, id), 'dead')
  t.same((await attemptsOf(db, id)).map((a) => a.outcome), ['ambiguous', 'ambiguous', 'ambiguous', 'ambiguous'])
})

t.test('a 400 is permanent: dead after 1 attempt', async (t) => {
  const fake = await startFakeWebhook(t)
  fake.reply = () => ({ status: 400, body: '{"error":"invalid recipient"}' })
  const { dispatcher, provider } = webhookDispatcher(db, fake.url)
  t.teardown(() => provider.close?.())
  const id = await enqueue(db)
  t.equal(await tickUntilSettled(db, dispatcher, id), 'dead')
  t.match(await attemptsOf(db, id), [{ attempt: 1, outcome: 'permanent', http_status: 400 }])
  t.equal(fake.ledger.length, 1)
})

t.test('429 waits at least Retry-After', async (t) => {
  const fake = await startFakeWebhook(t)
  fake.reply = (_receipt, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 })
  const { dispatcher, provider } = webhookDispatcher(db, fake.url)
  t.teardown(() => provider.close?.())
  const id = await enqueue(db)
  await dispatcher.tick()
  const [row] = await db.sql('SELECT status, next_attempt_at FROM sms_outbox.messages WHERE id = $1', [id])
  const [attempt] = await attemptsOf(db, id)
  t.equal(row.status, 'pending')
  t.equal(row.next_attempt_at.getTime() - attempt.finished_at!.getTime(), 1_000, 'Retry-After beats the 40 ms backoff')
  t.equal(attempt.outcome, 'rate_limited')
})

t.test('a hung provider is cut off at the timeout, recorded ambiguous, and retried', async (t) => {
  const fake = await startFakeWebhook(t)
  fake.reply = (_receipt, n) => (n === 1 ? { hang: true } : { status: 200 })
  const { dispatcher, provider } = webhookDispatcher(db, fake.url, { providerTimeoutMs: 200 })
  t.teardown(() => provider.close?.())
  const id = await enqueue(db)
  t.equal(await tickUntilSettled(db, dispatcher, id), 'sent')
  t.match(await attemptsOf(db, id), [
    { attempt: 1, outcome: 'ambiguous', error_code: 'timeout' },
    { attempt: 2, outcome: 'ok' },
  ])
})

t.test('a message per-message maxRetries of 0 gets exactly one attempt', async (t) => {
  const fake = await startFakeWebhook(t)
  fake.reply = () => ({ status: 503 })
  const { dispatcher, provider } = webhookDispatcher(db, fake.url)
  t.teardown(() => provider.close?.())
  const id = await enqueue(db, { maxRetries: 0 })
  t.equal(await tickUntilSettled(db, dispatcher, id), 'dead')
  t.equal((await attemptsOf(db, id)).length, 1)
})

t.test('a message past expiresAt expires instead of being sent', async (t) => {
  const fake = await startFakeWebhook(t)
  const { dispatcher, provider } = webhookDispatcher(db, fake.url)
  t.teardown(() => provider.close?.())
  const id = await enqueue(db)
  await db.sql(`UPDATE sms_outbox.messages SET expires_at = now() - interval '1 second' WHERE id = $1`, [id])
  t.same(await dispatcher.tick(), { reclaimed: 0, expired: 1, claimed: 0 })
  const [row] = await db.sql('SELECT status, attempts FROM sms_outbox.messages WHERE id = $1', [id])
  t.match(row, { status: 'expired', attempts: 0 })
  t.equal(fake.ledger.length, 0)
})

t.test('a retry is never scheduled past expiresAt', async (t) => {
  const fake = await startFakeWebhook(t)
  fake.reply = () => ({ status: 503 })
  const { dispatcher, provider } = webhookDispatcher(db, fake.url, {
    backoff: { baseDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'none' },
  })
  t.teardown(() => provider.close?.())
  const id = await enqueue(db, { expiresAt: new Date(Date.now() + 10_000).toISOString() })
  await dispatcher.tick()
  const [row] = await db.sql('SELECT status, next_attempt_at, expires_at FROM sms_outbox.messages WHERE id = $1', [id])
  t.equal(row.status, 'pending')
  t.equal(row.next_attempt_at.getTime(), row.expires_at.getTime())
})

t.test('sendAt in the future holds the message until then', async (t) => {
  const fake = await startFakeWebhook(t)
  const { dispatcher, provider } = webhookDispatcher(db, fake.url)
  t.teardown(() => provider.close?.())
  const id = await enqueue(db, { sendAt: new Date(Date.now() + 3_600_000).toISOString() })
  t.same(await dispatcher.tick(), { reclaimed: 0, expired: 0, claimed: 0 })
  t.equal(fake.ledger.filter((r) => r.id === id).length, 0)
})
