import t from 'tap'
import type { AlertEvent } from '../../src/alerts/alert-event.ts'
import { resumeProvider } from '../../src/outbox/provider-pauses.ts'
import { createSolapiProvider } from '../../src/providers/solapi-provider.ts'
import { createTwilioProvider } from '../../src/providers/twilio-provider.ts'
import { fakeSolapiReplies, startFakeSolapi } from '../helpers/fake-solapi.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { startFakeTwilio, twilioError } from '../helpers/fake-twilio.ts'
import { attemptsOf, enqueue, tickUntilSettled, webhookDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

const PROBE_INTERVAL_MS = 1_000
const solapiCredentials = { apiKey: 'NCSTESTKEY', apiSecret: 'test-secret' }
const twilioCredentials = { accountSid: 'AC' + '0'.repeat(32), authToken: 'test-token' }

/** A dispatcher sending through a SOLAPI fake, with the alerts it raised. */
async function solapiSetup(t: { teardown(fn: () => unknown): void }, db: TestDatabase) {
  const fake = await startFakeSolapi(t, solapiCredentials)
  const alerts: AlertEvent[] = []
  const dispatcherFor = () => {
    const provider = createSolapiProvider({ ...solapiCredentials, baseUrl: fake.baseUrl, from: '02-1234-5678' })
    t.teardown(() => provider.close?.())
    return webhookDispatcher(db, '', {
      provider,
      alerts: { notify: (event) => alerts.push(event), close: async () => {} },
      // Long enough that a slow machine cannot take two probes where the test expects one.
      probeIntervalMs: PROBE_INTERVAL_MS,
    }).dispatcher
  }
  return { fake, alerts, dispatcherFor }
}

const row = async (db: TestDatabase, id: string) =>
  (await db.sql('SELECT status, attempts, counted_attempts, last_error_code FROM sms_outbox.messages WHERE id = $1', [id]))[0]
const makeDue = (db: TestDatabase) => db.sql(`UPDATE sms_outbox.messages SET next_attempt_at = now() WHERE status = 'pending'`)
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))

t.test('rate_limited waits max(Retry-After, backoff) and uses no retry', async (t) => {
  const db = await createTestDatabase(t)
  const { fake, dispatcherFor } = await solapiSetup(t, db)
  fake.reply = (receipt, n) => (n <= 2 ? fakeSolapiReplies.tooManyRequests(0.3) : fakeSolapiReplies.accepted())(receipt, n)
  const dispatcher = dispatcherFor()
  // No retries at all: only the uncounted rate-limited attempts let it through.
  const id = await enqueue(db, { maxRetries: 0 })

  await dispatcher.tick()
  const [scheduled] = await db.sql(
    `SELECT (extract(epoch FROM m.next_attempt_at - a.finished_at) * 1000)::int AS wait_ms
     FROM sms_outbox.messages m JOIN sms_outbox.message_attempts a ON a.message_id = m.id AND a.attempt = 1 WHERE m.id = $1`,
    [id],
  )
  t.equal(scheduled.wait_ms, 300, 'x-retry-after 0.3 s beats the 40 ms backoff')
  t.match(await row(db, id), { status: 'pending', attempts: 1, counted_attempts: 0 })

  t.equal(await tickUntilSettled(db, dispatcher, id), 'sent')
  t.match(await row(db, id), { status: 'sent', attempts: 3, counted_attempts: 1 })
  t.same((await attemptsOf(db, id)).map((a) => a.outcome), ['rate_limited', 'rate_limited', 'ok'])
})

t.test('a rate-limit wait is cut at expiresAt, and the message then expires unsent', async (t) => {
  const db = await createTestDatabase(t)
  const { fake, alerts, dispatcherFor } = await solapiSetup(t, db)
  fake.reply = fakeSolapiReplies.tooManyRequests(3_600)
  const dispatcher = dispatcherFor()
  const id = await enqueue(db, { expiresAt: new Date(Date.now() + 1_000).toISOString() })

  await dispatcher.tick()
  const [scheduled] = await db.sql('SELECT next_attempt_at = expires_at AS at_expiry FROM sms_outbox.messages WHERE id = $1', [id])
  t.equal(scheduled.at_expiry, true, 'an hour of Retry-After is cut to the deadline')
  t.equal(await tickUntilSettled(db, dispatcher, id), 'expired')
  t.equal(fake.ledger.length, 1, 'never sent after the deadline')
  t.match(alerts, [{ kind: 'expired', messageId: id }])
})

t.test('a retry whose backoff runs past expiresAt expires unsent at the deadline', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = () => ({ status: 503 })
  const { dispatcher, provider } = webhookDispatcher(db, fake.url, {
    backoff: { baseDelayMs: 3_600_000, maxDelayMs: 3_600_000, jitter: 'none' },
  })
  t.teardown(() => provider.close?.())
  const id = await enqueue(db, { expiresAt: new Date(Date.now() + 500).toISOString() })

  await dispatcher.tick()
  t.match(await row(db, id), { status: 'pending', counted_attempts: 1 }, 'a retry, waiting')
  t.equal(await tickUntilSettled(db, dispatcher, id), 'expired', 'found among the due retries at the deadline')
  t.equal(fake.ledger.length, 1, 'never sent again')
})

t.test('an account error pauses the provider for every dispatcher; one probe resumes it', async (t) => {
  const db = await createTestDatabase(t)
  const { fake, alerts, dispatcherFor } = await solapiSetup(t, db)
  fake.reply = fakeSolapiReplies.error(402, 'NotEnoughBalance', 'top up your balance')
  const [first, second] = [dispatcherFor(), dispatcherFor()]
  const ids: string[] = []
  for (let i = 0; i < 5; i += 1) ids.push(await enqueue(db, { maxRetries: 0 }))

  t.match(await first.tick(), { claimed: 5 })
  const [pause] = await db.sql('SELECT provider, error_code, reason, probes FROM sms_outbox.provider_pauses')
  t.match(pause, { provider: 'solapi', error_code: 'NotEnoughBalance', reason: /top up your balance/, probes: 0 })
  for (const id of ids) {
    t.match(await row(db, id), { status: 'pending', attempts: 1, counted_attempts: 0 }, 'no retry used, not dead')
  }
  t.same(alerts.map((a) => a.kind), ['paused'], 'five failures, one alert')

  // Everything is due, yet neither dispatcher sends while the probe time has not come.
  await makeDue(db)
  t.match(await second.tick(), { claimed: 0 })
  t.match(await first.tick(), { claimed: 0 })
  t.equal(fake.ledger.length, 5)

  // The probe still fails: the pause stays, with no second alert.
  await sleep(PROBE_INTERVAL_MS + 50)
  await makeDue(db)
  t.match(await second.tick(), { claimed: 1 })
  t.match(await first.tick(), { claimed: 0 }, 'the probe slot was taken')
  t.equal((await db.sql('SELECT probes FROM sms_outbox.provider_pauses'))[0].probes, 1)
  t.same(alerts.map((a) => a.kind), ['paused'])

  // Balance topped up: the next probe goes through and lifts the pause for everyone.
  fake.reply = fakeSolapiReplies.accepted()
  await sleep(PROBE_INTERVAL_MS + 50)
  await makeDue(db)
  t.match(await first.tick(), { claimed: 1 })
  t.same(await db.sql('SELECT * FROM sms_outbox.provider_pauses'), [])
  t.same(alerts.map((a) => a.kind), ['paused', 'resumed'])
  t.match(alerts[1], { provider: 'solapi', by: 'probe' })
  await makeDue(db)
  t.match(await second.tick(), { claimed: 4 })
  for (const id of ids) t.match(await row(db, id), { status: 'sent', counted_attempts: 1 })
})

t.test('an admin resume ends a pause at once', async (t) => {
  const db = await createTestDatabase(t)
  const { fake, dispatcherFor } = await solapiSetup(t, db)
  fake.reply = fakeSolapiReplies.statusCode('1062', 'sender number not registered')
  const dispatcher = dispatcherFor()
  const id = await enqueue(db)
  await dispatcher.tick()
  t.match((await db.sql('SELECT error_code FROM sms_outbox.provider_pauses'))[0], { error_code: '1062' })

  fake.reply = fakeSolapiReplies.accepted()
  t.equal(await resumeProvider(db.prisma, 'solapi'), true)
  t.equal(await resumeProvider(db.prisma, 'solapi'), false, 'resuming twice is harmless')
  await makeDue(db)
  t.match(await dispatcher.tick(), { claimed: 1 })
  t.match(await row(db, id), { status: 'sent' })
})

t.test('a pause holds one provider only', async (t) => {
  const db = await createTestDatabase(t)
  await db.sql(
    `INSERT INTO sms_outbox.provider_pauses (provider, error_code, reason, next_probe_at)
     VALUES ('solapi', 'NotEnoughBalance', 'test', now() + interval '1 hour')`,
  )
  const fake = await startFakeTwilio(t, twilioCredentials)
  const provider = createTwilioProvider({ ...twilioCredentials, baseUrl: fake.baseUrl, from: '+15005550006' })
  t.teardown(() => provider.close?.())
  const { dispatcher } = webhookDispatcher(db, '', { provider })
  const id = await enqueue(db)
  t.equal(await tickUntilSettled(db, dispatcher, id), 'sent')
})

t.test('messages expire while the provider is paused, and are never sent', async (t) => {
  const db = await createTestDatabase(t)
  const { fake, alerts, dispatcherFor } = await solapiSetup(t, db)
  await db.sql(
    `INSERT INTO sms_outbox.provider_pauses (provider, error_code, reason, next_probe_at)
     VALUES ('solapi', 'NotEnoughBalance', 'test', now() + interval '1 hour')`,
  )
  const dispatcher = dispatcherFor()
  const id = await enqueue(db, { expiresAt: new Date(Date.now() + 300).toISOString() })
  t.match(await dispatcher.tick(), { claimed: 0, expired: 0 })
  await sleep(350)
  t.match(await dispatcher.tick(), { claimed: 0, expired: 1 })
  t.match(await row(db, id), { status: 'expired', attempts: 0, last_error_code: 'expired' })
  t.equal(fake.ledger.length, 0)
  t.match(alerts, [{ kind: 'expired', messageId: id, to: '+821012345678' }])
})

t.test('Twilio end to end: the sid is stored; a permanent code kills at once and alerts', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeTwilio(t, twilioCredentials)
  const provider = createTwilioProvider({ ...twilioCredentials, baseUrl: fake.baseUrl, from: '+15005550006' })
  t.teardown(() => provider.close?.())
  const alerts: AlertEvent[] = []
  const { dispatcher } = webhookDispatcher(db, '', {
    provider,
    alerts: { notify: (event) => alerts.push(event), close: async () => {} },
  })

  const sent = await enqueue(db, { to: '+821012345678' })
  t.equal(await tickUntilSettled(db, dispatcher, sent), 'sent')
  const [message] = await db.sql('SELECT provider, provider_message_id FROM sms_outbox.messages WHERE id = $1', [sent])
  t.match(message, { provider: 'twilio', provider_message_id: /^SM[0-9a-f]{32}$/ })
  const [attempt] = await db.sql('SELECT provider_message_id FROM sms_outbox.message_attempts WHERE message_id = $1', [sent])
  t.equal(attempt.provider_message_id, message.provider_message_id)

  fake.reply = () => twilioError(400, 21211, "The 'To' number +821098765432 is not a valid phone number.")
  const dead = await enqueue(db, { to: '010-9876-5432', maxRetries: 5 })
  t.equal(await tickUntilSettled(db, dispatcher, dead), 'dead')
  t.match(await row(db, dead), { status: 'dead', attempts: 1, last_error_code: '21211' })
  t.match(alerts, [{ kind: 'dead', messageId: dead, errorCode: '21211', provider: 'twilio' }])
  const [stored] = await db.sql('SELECT last_error FROM sms_outbox.messages WHERE id = $1', [dead])
  t.notMatch(stored.last_error, /821098765432/, 'the number Twilio quoted is not stored in the error')
})

t.test('SOLAPI end to end: the messageId is stored; an LMS is sent as type LMS', async (t) => {
  const db = await createTestDatabase(t)
  const { fake, dispatcherFor } = await solapiSetup(t, db)
  const dispatcher = dispatcherFor()
  const id = await enqueue(db, { text: '가'.repeat(46) })
  t.equal(await tickUntilSettled(db, dispatcher, id), 'sent')
  t.match(fake.ledger, [{ to: '01012345678', from: '0212345678', type: 'LMS' }])
  t.same(fake.rejections, [])
  const [message] = await db.sql('SELECT provider_message_id, type, bytes FROM sms_outbox.messages WHERE id = $1', [id])
  t.match(message, { provider_message_id: /\S/, type: 'LMS', bytes: 92 })
})
