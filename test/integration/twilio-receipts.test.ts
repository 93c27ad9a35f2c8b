import t from 'tap'
import type { AlertEvent } from '../../src/alerts/alert-event.ts'
import { buildTestApp } from '../helpers/test-app.ts'
import { applyEarlyReceipts, EARLY_RECEIPT_HOURS } from '../../src/outbox/dispatch/early-receipts.ts'
import { createTwilioProvider } from '../../src/providers/twilio-provider.ts'
import { startFakeTwilio } from '../helpers/fake-twilio.ts'
import { enqueue, runningDispatcher, silentLog } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

const account = { accountSid: 'AC00000000000000000000000000000001', authToken: 'receipt-test-auth-token' }
const ADMIN_TOKEN = 'test-admin-token-0123456789'
const API_TOKEN = 'test-api-token-0123456789'
// Where Twilio reaches the service: a proxy's address, not the 127.0.0.1 the app listens on.
const PUBLIC_URL = 'https://sms.example.test/outbox'
const CALLBACK_URL = `${PUBLIC_URL}/v1/receipts/twilio`

interface Delivery {
  status: string
  at: string | null
  errorCode: string | null
}

/** What waits in early_receipts, oldest SID first. */
async function earlyReceipts(db: TestDatabase) {
  return db.sql('SELECT provider_message_id, status, error_code FROM sms_outbox.early_receipts ORDER BY provider_message_id')
}

/** The service's API and a dispatcher sending through the fake Twilio, with PUBLIC_URL set. */
async function setUp(t: { teardown(fn: () => unknown): void }) {
  const db = await createTestDatabase(t)
  const fake = await startFakeTwilio(t, account)
  const alerts: AlertEvent[] = []
  const app = await buildTestApp({
    config: {
      DATABASE_URL: db.url,
      ADMIN_TOKEN,
      API_TOKEN,
      SMS_PROVIDER: 'twilio',
      SMS_FROM: '+15005550006',
      TWILIO_ACCOUNT_SID: account.accountSid,
      TWILIO_AUTH_TOKEN: account.authToken,
      TWILIO_BASE_URL: fake.baseUrl,
      PUBLIC_URL,
    },
    database: db,
    logger: silentLog,
    alerts: { notify: (event) => alerts.push(event), close: async () => {} },
  })
  t.teardown(() => app.close())
  // What the proxy at PUBLIC_URL forwards to.
  const serviceUrl = `${await app.listen({ host: '127.0.0.1', port: 0 })}/v1/receipts/twilio`
  const provider = createTwilioProvider({ ...account, baseUrl: fake.baseUrl, from: '+15005550006', statusCallback: CALLBACK_URL })
  t.teardown(() => provider.close?.())
  const { watch } = runningDispatcher(t, db, '', { provider })
  const sendOne = async (to = '010-1234-5678') => {
    const id = await enqueue(db, { to })
    const settled = await watch.settled(db, id)
    if (settled !== 'sent') throw new Error(`the message ended ${settled}, not sent`)
    return { id, receipt: fake.ledger.at(-1)! }
  }
  const get = async (url: string) => {
    const token = url.startsWith('/v1/admin') ? ADMIN_TOKEN : API_TOKEN
    const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
    return response.json()
  }
  const deliveryOf = async (id: string) => (await get(`/v1/messages/${id}`)) as { status: string; delivery: Delivery }
  return { db, fake, app, alerts, serviceUrl, sendOne, get, deliveryOf }
}


t.test('every send asks for status callbacks at PUBLIC_URL; delivered shows on the message, which stays sent', async (t) => {
  const { fake, serviceUrl, sendOne, deliveryOf, get, app } = await setUp(t)
  const { id, receipt } = await sendOne()
  t.equal(receipt.statusCallback, CALLBACK_URL)
  t.match(await deliveryOf(id), { status: 'sent', delivery: { status: 'unknown', at: null, errorCode: null } })

  t.equal(await fake.sendStatus(receipt, 'sent', { via: serviceUrl }), 200)
  t.match(await deliveryOf(id), { delivery: { status: 'unknown' } }, 'sent is not a receipt')
  t.equal(await fake.sendStatus(receipt, 'delivered', { via: serviceUrl }), 200)
  const delivered = await deliveryOf(id)
  t.match(delivered, { status: 'sent', delivery: { status: 'delivered', at: /^\d{4}-/, errorCode: null } })

  // Out of order and repeated: a late `sent` or `queued`, the same `delivered` again, a late failure.
  for (const late of ['sent', 'queued', 'delivered', 'undelivered'] as const) {
    t.equal(await fake.sendStatus(receipt, late, { via: serviceUrl, errorCode: '30003' }), 200, late)
  }
  t.same((await deliveryOf(id)).delivery, delivered.delivery, 'nothing overwrote the first final receipt')

  const admin = await get(`/v1/admin/messages/${id}`)
  t.same(admin.delivery, delivered.delivery, 'the admin detail shows it too')
  const metrics = await app.inject({ method: 'GET', url: '/metrics' })
  t.match(metrics.body, /sms_outbox_receipts_total\{provider="twilio",status="delivered"\} 1\n/, 'counted once')
  t.match(metrics.body, /sms_outbox_receipts_total\{provider="twilio",status="undelivered"\} 0\n/)
})

t.test('undelivered and failed carry the ErrorCode, go into the alerts and the admin filter; nothing is resent', async (t) => {
  const { db, fake, serviceUrl, sendOne, deliveryOf, get, alerts } = await setUp(t)
  const first = await sendOne('010-1234-5678')
  const second = await sendOne('010-2222-3333')
  const fine = await sendOne('010-4444-5555')
  t.equal(await fake.sendStatus(first.receipt, 'undelivered', { via: serviceUrl, errorCode: '30003' }), 200)
  t.equal(await fake.sendStatus(second.receipt, 'failed', { via: serviceUrl, errorCode: '30008' }), 200)
  t.equal(await fake.sendStatus(fine.receipt, 'delivered', { via: serviceUrl }), 200)
  t.match(await deliveryOf(first.id), { status: 'sent', delivery: { status: 'undelivered', errorCode: '30003' } })
  t.match(await deliveryOf(second.id), { status: 'sent', delivery: { status: 'undelivered', errorCode: '30008' } })
  t.equal(fake.ledger.length, 3, 'a receipt never resends')
  for (const late of ['sent', 'queued', 'delivered'] as const) {
    t.equal(await fake.sendStatus(first.receipt, late, { via: serviceUrl }), 200, `late ${late}`)
  }
  t.match(await deliveryOf(first.id), { delivery: { status: 'undelivered', errorCode: '30003' } }, 'undelivered stands too')

  const page = await get('/v1/admin/messages?delivery=undelivered')
  t.same(page.messages.map((m: { id: string }) => m.id).sort(), [first.id, second.id].sort())
  t.match(page.messages[0].delivery, { status: 'undelivered' })
  const bad = await get('/v1/admin/messages?delivery=lost')
  t.equal(bad.statusCode, 400)
  t.match(alerts, [
    { kind: 'undelivered', messageId: first.id, provider: 'twilio', errorCode: '30003', to: '+821012345678' },
    { kind: 'undelivered', messageId: second.id, provider: 'twilio', errorCode: '30008' },
  ])
  t.equal(alerts.length, 2)
  const [row] = await db.sql('SELECT delivery_check_at FROM sms_outbox.messages WHERE id = $1', [first.id])
  t.equal(row.delivery_check_at, null, 'Twilio pushes receipts: nothing is polled')
})

t.test('a bad or missing signature is 403 and writes nothing; an unknown MessageSid is 200 and kept for its message', async (t) => {
  const { fake, serviceUrl, sendOne, deliveryOf, db } = await setUp(t)
  const { id, receipt } = await sendOne()
  const unsent = { ...receipt, sid: 'SM11111111111111111111111111111111' }
  t.equal(await fake.sendStatus(unsent, 'delivered', { via: serviceUrl, signature: null }), 403, 'no signature, unknown SID')
  t.same(await earlyReceipts(db), [], 'nothing kept')
  t.equal(await fake.sendStatus(receipt, 'delivered', { via: serviceUrl, signature: null }), 403, 'no signature')
  t.equal(await fake.sendStatus(receipt, 'delivered', { via: serviceUrl, signature: 'bm90IGEgc2lnbmF0dXJl' }), 403, 'wrong')
  // Signed for the address the request reached rather than PUBLIC_URL: not what Twilio signs.
  const wrongUrl = { ...receipt, statusCallback: serviceUrl }
  t.equal(await fake.sendStatus(wrongUrl, 'delivered'), 403, 'signed over another URL')
  const otherToken = await startFakeTwilio(t, { ...account, authToken: 'another-token' })
  t.equal(await otherToken.sendStatus(receipt, 'delivered', { via: serviceUrl }), 403, 'signed with another auth token')
  t.match(await deliveryOf(id), { delivery: { status: 'unknown' } })

  const stranger = { ...receipt, sid: 'SM00000000000000000000000000000000' }
  t.equal(await fake.sendStatus(stranger, 'delivered', { via: serviceUrl }), 200)
  const [{ count }] = await db.sql(`SELECT count(*)::int AS count FROM sms_outbox.messages WHERE delivery_status <> 'unknown'`)
  t.equal(count, 0)
  t.same(await earlyReceipts(db), [{ provider_message_id: stranger.sid, status: 'delivered', error_code: null }], 'kept for its message')
})

t.test('a receipt that beats the outcome write waits for its message, then counts and alerts like any other', async (t) => {
  const { db, fake, serviceUrl, sendOne, deliveryOf } = await setUp(t)
  // Twilio's callback for the message it is about to accept: the worker has not written
  // the send's outcome, so no row has its SID yet.
  const sid = 'SM0123456789abcdef0123456789abcdef'
  const early = { sid, to: '+821012345678', from: '+15005550006', messagingServiceSid: undefined, body: 'hello', statusCallback: CALLBACK_URL, at: Date.now() }
  t.equal(await fake.sendStatus(early, 'undelivered', { via: serviceUrl, errorCode: '30003' }), 200)
  t.equal(await fake.sendStatus(early, 'delivered', { via: serviceUrl }), 200, 'a contradicting later one')
  t.same(await earlyReceipts(db), [{ provider_message_id: sid, status: 'undelivered', error_code: '30003' }], 'the first final one is kept')

  const reported: string[] = []
  const listeners = {
    metrics: { recordReceipt: (provider: string, status: string) => reported.push(`${provider} ${status}`) },
    alerts: { notify: (event: AlertEvent) => reported.push(`alert ${event.kind} ${'messageId' in event ? event.messageId : ''}`), close: async () => {} },
  }
  t.same((await applyEarlyReceipts(db.pool, listeners)).applied, [], 'nothing to apply before the send is recorded')

  fake.reply = (receipt) => fake.accept({ ...receipt, sid })
  const { id } = await sendOne()
  t.match(await deliveryOf(id), { status: 'sent', delivery: { status: 'unknown' } })
  const pass = await applyEarlyReceipts(db.pool, listeners)
  t.match(pass, { applied: [{ id, provider: 'twilio', to: '+821012345678', status: 'undelivered', errorCode: '30003' }], dropped: 0 })
  t.match(await deliveryOf(id), { status: 'sent', delivery: { status: 'undelivered', errorCode: '30003', at: /^\d{4}-/ } })
  t.same(reported, ['twilio undelivered', `alert undelivered ${id}`])
  t.same(await earlyReceipts(db), [], 'applied receipts are gone')

  t.same((await applyEarlyReceipts(db.pool, listeners)).applied, [], 'a second pass finds nothing')
  t.equal(await fake.sendStatus(early, 'delivered', { via: serviceUrl }), 200)
  t.match(await deliveryOf(id), { delivery: { status: 'undelivered' } }, 'the first final receipt still stands')
  t.same(await earlyReceipts(db), [], 'a receipt for a known message is never kept')
  t.equal(reported.length, 2, 'nothing counted or alerted twice')
})

t.test('an early receipt whose message never shows its SID is dropped after a day', async (t) => {
  const { db, fake, serviceUrl, sendOne } = await setUp(t)
  const { receipt } = await sendOne()
  const [old, recent] = ['SM000000000000000000000000000000aa', 'SM000000000000000000000000000000bb']
  for (const sid of [old, recent]) t.equal(await fake.sendStatus({ ...receipt, sid }, 'delivered', { via: serviceUrl }), 200)
  await db.sql(`UPDATE sms_outbox.early_receipts SET received_at = now() - $2 * interval '1 hour' WHERE provider_message_id = $1`, [old, EARLY_RECEIPT_HOURS + 1])
  t.match(await applyEarlyReceipts(db.pool, {}), { applied: [], dropped: 1 })
  t.same((await earlyReceipts(db)).map((row) => row.provider_message_id), [recent])
})

t.test('without PUBLIC_URL no callbacks are asked for and the route does not exist', async (t) => {
  const db = await createTestDatabase(t)
  const app = await buildTestApp({
    config: { DATABASE_URL: db.url, SMS_PROVIDER: 'twilio', SMS_FROM: '+15005550006', TWILIO_ACCOUNT_SID: account.accountSid, TWILIO_AUTH_TOKEN: account.authToken },
    database: db,
    logger: silentLog,
  })
  t.teardown(() => app.close())
  const response = await app.inject({ method: 'POST', url: '/v1/receipts/twilio', payload: 'MessageSid=SM1&MessageStatus=delivered', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(response.statusCode, 404)
  const fake = await startFakeTwilio(t, account)
  const provider = createTwilioProvider({ ...account, baseUrl: fake.baseUrl, from: '+15005550006' })
  t.teardown(() => provider.close?.())
  t.match(await provider.send({ id: 'x', to: '+821012345678', text: 'hi', type: 'SMS' }, AbortSignal.timeout(2_000)), { kind: 'ok' })
  t.equal(fake.ledger[0].statusCallback, undefined)
  t.notOk(provider.pushesReceipts, 'no callbacks, so workers run no pass over early receipts')
  const withCallbacks = createTwilioProvider({ ...account, baseUrl: fake.baseUrl, from: '+15005550006', statusCallback: CALLBACK_URL })
  t.teardown(() => withCallbacks.close?.())
  t.ok(withCallbacks.pushesReceipts)
})
