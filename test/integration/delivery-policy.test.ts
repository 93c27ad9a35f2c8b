import t from 'tap'
import type { AlertEvent } from '../../src/alerts/alert-event.ts'
import { resumeProvider } from '../../src/outbox/dispatch/provider-pauses.ts'
import { claimDue } from '../../src/outbox/dispatch/claim-due.ts'
import { createSolapiProvider } from '../../src/providers/solapi-provider.ts'
import { createTwilioProvider } from '../../src/providers/twilio-provider.ts'
import { fakeSolapiReplies, startFakeSolapi } from '../helpers/fake-solapi.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { startFakeTwilio, twilioError } from '../helpers/fake-twilio.ts'
import { attemptsOf, enqueue, runningDispatcher, type DispatcherWatch } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

// Longer than any test: a probe goes out only when a test moves the probe time to now.
const PROBE_INTERVAL_MS = 60_000
const solapiCredentials = { apiKey: 'NCSTESTKEY', apiSecret: 'test-secret' }
const twilioCredentials = { accountSid: 'AC' + '0'.repeat(32), authToken: 'test-token' }

/** A dispatcher sending through a SOLAPI fake, with the alerts it raised. */
async function solapiSetup(t: { teardown(fn: () => unknown): void }, db: TestDatabase) {
  const fake = await startFakeSolapi(t, solapiCredentials)
  const alerts: AlertEvent[] = []
  /** Starts a dispatcher; create it after enqueueing for its first pass to see the messages. */
  const dispatcherFor = () => {
    const provider = createSolapiProvider({ ...solapiCredentials, baseUrl: fake.baseUrl, from: '02-1234-5678' })
    t.teardown(() => provider.close?.())
    return runningDispatcher(t, db, '', {
      provider,
      alerts: { notify: (event) => alerts.push(event), close: async () => {} },
      probeIntervalMs: PROBE_INTERVAL_MS,
    }).watch
  }
  return { fake, alerts, dispatcherFor }
}

const row = async (db: TestDatabase, id: string) =>
  (await db.sql('SELECT status, attempts, counted_attempts, last_error_code FROM sms_outbox.messages WHERE id = $1', [id]))[0]
// The tests' clock: they move deadlines to now instead of waiting for them.
const makeDue = (db: TestDatabase) => db.sql(`UPDATE sms_outbox.messages SET next_attempt_at = now() WHERE status = 'pending'`)
const probeNow = (db: TestDatabase) => db.sql(`UPDATE sms_outbox.provider_pauses SET next_probe_at = now()`)
const expireNow = (db: TestDatabase, id: string) =>
  db.sql(`UPDATE sms_outbox.messages SET expires_at = now(), next_attempt_at = least(next_attempt_at, now()) WHERE id = $1`, [id])

/** Resolves once `condition` holds, checked after every signal of any of `watches`. */
const untilAny = (watches: DispatcherWatch[], condition: () => boolean) => Promise.race(watches.map((watch) => watch.until(condition)))
const claimedAfter = async (watches: DispatcherWatch[]) =>
  (await Promise.all(watches.map((watch) => watch.nextPasses(1)))).flat().reduce((sum, pass) => sum + pass.claimed, 0)

t.test('rate_limited waits max(Retry-After, backoff) and uses no retry', async (t) => {
  const db = await createTestDatabase(t)
  const { fake, dispatcherFor } = await solapiSetup(t, db)
  fake.reply = (receipt, n) => (n <= 2 ? fakeSolapiReplies.tooManyRequests(0.3) : fakeSolapiReplies.accepted())(receipt, n)
  // No retries at all: only the uncounted rate-limited attempts let it through.
  const id = await enqueue(db, { maxRetries: 0 })
  const watch = dispatcherFor()

  t.equal(await watch.attempt(id), 'pending')
  const [scheduled] = await db.sql(
    `SELECT (extract(epoch FROM m.next_attempt_at - a.finished_at) * 1000)::int AS wait_ms
     FROM sms_outbox.messages m JOIN sms_outbox.message_attempts a ON a.message_id = m.id AND a.attempt = 1 WHERE m.id = $1`,
    [id],
  )
  t.equal(scheduled.wait_ms, 300, 'x-retry-after 0.3 s beats the 40 ms backoff')
  t.match(await row(db, id), { status: 'pending', attempts: 1, counted_attempts: 0 })

  t.equal(await watch.settled(db, id), 'sent')
  t.match(await row(db, id), { status: 'sent', attempts: 3, counted_attempts: 1 })
  t.same((await attemptsOf(db, id)).map((a) => a.outcome), ['rate_limited', 'rate_limited', 'ok'])
})

t.test('a rate-limit wait is cut at expiresAt, and the message then expires unsent', async (t) => {
  const db = await createTestDatabase(t)
  const { fake, alerts, dispatcherFor } = await solapiSetup(t, db)
  fake.reply = fakeSolapiReplies.tooManyRequests(7_200)
  const id = await enqueue(db, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() })
  const watch = dispatcherFor()

  t.equal(await watch.attempt(id), 'pending')
  const [scheduled] = await db.sql('SELECT next_attempt_at = expires_at AS at_expiry FROM sms_outbox.messages WHERE id = $1', [id])
  t.equal(scheduled.at_expiry, true, 'two hours of Retry-After are cut to the deadline')
  await expireNow(db, id)
  t.equal(await watch.settled(db, id), 'expired')
  t.equal(fake.ledger.length, 1, 'never sent after the deadline')
  t.match(alerts, [{ kind: 'expired', messageId: id }])
})

t.test('a retry whose backoff runs past expiresAt expires unsent at the deadline', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = () => ({ status: 503 })
  const id = await enqueue(db, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() })
  const { watch } = runningDispatcher(t, db, fake.url, {
    backoff: { baseDelayMs: 7_200_000, maxDelayMs: 7_200_000, jitter: 'none' },
  })

  t.equal(await watch.attempt(id), 'pending')
  t.match(await row(db, id), { status: 'pending', counted_attempts: 1 }, 'a retry, waiting')
  const [scheduled] = await db.sql('SELECT next_attempt_at = expires_at AS at_expiry FROM sms_outbox.messages WHERE id = $1', [id])
  t.equal(scheduled.at_expiry, true, 'the retry waits for the deadline, not past it')
  await expireNow(db, id)
  t.equal(await watch.settled(db, id), 'expired', 'found among the due retries at the deadline')
  t.equal(fake.ledger.length, 1, 'never sent again')
})

t.test('an account error pauses the provider for every dispatcher; one probe resumes it', async (t) => {
  const db = await createTestDatabase(t)
  const { fake, alerts, dispatcherFor } = await solapiSetup(t, db)
  fake.reply = fakeSolapiReplies.error(402, 'NotEnoughBalance', 'top up your balance')
  const ids: string[] = []
  for (let i = 0; i < 5; i += 1) ids.push(await enqueue(db, { maxRetries: 0 }))
  const first = dispatcherFor()

  t.same(await Promise.all(ids.map((id) => first.attempt(id))), ids.map(() => 'pending'))
  t.match(await first.pass(1), { claimed: 5 })
  const [pause] = await db.sql('SELECT provider, error_code, reason, probes FROM sms_outbox.provider_pauses')
  t.match(pause, { provider: 'solapi', error_code: 'NotEnoughBalance', reason: /top up your balance/, probes: 0 })
  for (const id of ids) {
    t.match(await row(db, id), { status: 'pending', attempts: 1, counted_attempts: 0 }, 'no retry used, not dead')
  }
  t.same(alerts.map((a) => a.kind), ['paused'], 'five failures, one alert')

  // Everything is due, yet neither dispatcher sends while the probe time has not come.
  const second = dispatcherFor()
  await makeDue(db)
  t.equal(await claimedAfter([first, second]), 0, 'a whole pass of each claimed nothing')
  t.equal(fake.ledger.length, 5)

  // The probe time comes; the probe still fails: the pause stays, with no second alert.
  await probeNow(db)
  const probed = () => first.attempts.length + second.attempts.length === 6
  await untilAny([first, second], probed)
  t.equal(fake.ledger.length, 6, 'one probe message, from one dispatcher')
  t.equal(await claimedAfter([first, second]), 0, 'the probe slot was taken: nobody claims another')
  t.equal((await db.sql('SELECT probes FROM sms_outbox.provider_pauses'))[0].probes, 1)
  t.same(alerts.map((a) => a.kind), ['paused'])

  // Balance topped up: the next probe goes through and lifts the pause for everyone.
  fake.reply = fakeSolapiReplies.accepted()
  await makeDue(db)
  await probeNow(db)
  await untilAny([first, second], () => alerts.length === 2)
  t.same(alerts.map((a) => a.kind), ['paused', 'resumed'])
  t.match(alerts[1], { provider: 'solapi', by: 'probe' })
  t.same(await db.sql('SELECT * FROM sms_outbox.provider_pauses'), [])
  await makeDue(db)
  for (const id of ids) t.equal(await first.settled(db, id), 'sent')
  for (const id of ids) t.match(await row(db, id), { status: 'sent', counted_attempts: 1 })
  t.equal(fake.ledger.length, 11, '5 refused, 1 refused probe, 1 probe sent, 4 after it')
})

t.test('an admin resume ends a pause at once', async (t) => {
  const db = await createTestDatabase(t)
  const { fake, dispatcherFor } = await solapiSetup(t, db)
  fake.reply = fakeSolapiReplies.statusCode('1062', 'sender number not registered')
  const id = await enqueue(db)
  const watch = dispatcherFor()
  t.equal(await watch.attempt(id), 'pending')
  t.match((await db.sql('SELECT error_code FROM sms_outbox.provider_pauses'))[0], { error_code: '1062' })

  fake.reply = fakeSolapiReplies.accepted()
  t.equal(await resumeProvider(db.pool, 'solapi'), true)
  t.equal(await resumeProvider(db.pool, 'solapi'), false, 'resuming twice is harmless')
  await makeDue(db)
  t.equal(await watch.settled(db, id), 'sent')
  t.equal(fake.ledger.length, 2)
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
  const id = await enqueue(db)
  const { watch } = runningDispatcher(t, db, '', { provider })
  t.equal(await watch.settled(db, id), 'sent')
})

t.test('messages expire while the provider is paused, and are never sent', async (t) => {
  const db = await createTestDatabase(t)
  const { fake, alerts, dispatcherFor } = await solapiSetup(t, db)
  await db.sql(
    `INSERT INTO sms_outbox.provider_pauses (provider, error_code, reason, next_probe_at)
     VALUES ('solapi', 'NotEnoughBalance', 'test', now() + interval '1 hour')`,
  )
  const id = await enqueue(db, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() })
  const watch = dispatcherFor()
  t.same(await watch.nextPasses(1), [{ claimed: 0, reclaimed: 0, expired: 0 }], 'due, but held by the pause')
  await expireNow(db, id)
  t.equal(await watch.settled(db, id), 'expired')
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
  const { watch } = runningDispatcher(t, db, '', {
    provider,
    alerts: { notify: (event) => alerts.push(event), close: async () => {} },
  })

  const sent = await enqueue(db, { to: '+821012345678' })
  t.equal(await watch.settled(db, sent), 'sent')
  const [message] = await db.sql('SELECT provider, provider_message_id FROM sms_outbox.messages WHERE id = $1', [sent])
  t.match(message, { provider: 'twilio', provider_message_id: /^SM[0-9a-f]{32}$/ })
  const [attempt] = await db.sql('SELECT provider_message_id FROM sms_outbox.message_attempts WHERE message_id = $1', [sent])
  t.equal(attempt.provider_message_id, message.provider_message_id)

  fake.reply = () => twilioError(400, 21211, "The 'To' number +821098765432 is not a valid phone number.")
  const dead = await enqueue(db, { to: '010-9876-5432', maxRetries: 5 })
  t.equal(await watch.settled(db, dead), 'dead')
  t.match(await row(db, dead), { status: 'dead', attempts: 1, last_error_code: '21211' })
  t.match(alerts, [{ kind: 'dead', messageId: dead, errorCode: '21211', provider: 'twilio' }])
  const [stored] = await db.sql('SELECT last_error FROM sms_outbox.messages WHERE id = $1', [dead])
  t.notMatch(stored.last_error, /821098765432/, 'the number Twilio quoted is not stored in the error')
})

t.test('SOLAPI end to end: the messageId is stored; an LMS is sent as type LMS', async (t) => {
  const db = await createTestDatabase(t)
  const { fake, dispatcherFor } = await solapiSetup(t, db)
  const id = await enqueue(db, { text: '가'.repeat(46) })
  const watch = dispatcherFor()
  t.equal(await watch.settled(db, id), 'sent')
  t.match(fake.ledger, [{ to: '01012345678', from: '0212345678', type: 'LMS' }])
  t.same(fake.rejections, [])
  const [message] = await db.sql('SELECT provider_message_id, type, bytes FROM sms_outbox.messages WHERE id = $1', [id])
  t.match(message, { provider_message_id: /\S/, type: 'LMS', bytes: 92 })
})

t.test('a paused provider with nothing due uses no probe: the probe goes with the first message that comes due', async (t) => {
  const db = await createTestDatabase(t)
  await db.sql(
    `INSERT INTO sms_outbox.provider_pauses (provider, error_code, reason, next_probe_at)
     VALUES ('webhook', 'http_401', 'test', now() - interval '1 second')`,
  )
  const claim = () => claimDue(db.pool, { limit: 10, leaseMs: 5_000, provider: 'webhook', probeIntervalMs: 3_600_000 })
  const pause = async () =>
    (await db.sql(`SELECT probes, next_probe_at <= now() AS probe_due FROM sms_outbox.provider_pauses`))[0]

  t.same((await claim()).messages, [], 'nothing is due')
  t.same(await pause(), { probes: 0, probe_due: true }, 'the probe slot is still there, and no probe is counted')

  const first = await enqueue(db)
  await enqueue(db, { to: '010-2222-3333' })
  t.match((await claim()).messages, [{ id: first, probe: true }], 'one message goes as the probe')
  t.same(await pause(), { probes: 1, probe_due: false }, 'one probe counted; the next waits an interval')
  t.same((await claim()).messages, [], 'the other waits for the pause to end')
})
