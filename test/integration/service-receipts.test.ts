import t from 'tap'
import { startFakeSolapi } from '../helpers/fake-solapi.ts'
import { startFakeTwilio } from '../helpers/fake-twilio.ts'
import { startService, until } from '../helpers/service-process.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

// The whole wiring, as an operator configures it: the binary, a provider, receipts over the API.
const API_TOKEN = 'service-receipts-api-token'

async function submit(url: string): Promise<string> {
  const response = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
    body: JSON.stringify({ to: '010-1234-5678', text: 'hello' }),
  })
  if (response.status !== 202) throw new Error(`enqueue answered ${response.status}`)
  return ((await response.json()) as { id: string }).id
}

async function deliveryOf(url: string, id: string): Promise<{ status: string; delivery: { status: string; errorCode: string | null } }> {
  const response = await fetch(`${url}/v1/messages/${id}`, { headers: { authorization: `Bearer ${API_TOKEN}` } })
  return (await response.json()) as { status: string; delivery: { status: string; errorCode: string | null } }
}

t.test('Twilio: the service asks for callbacks at PUBLIC_URL and shows what they say', async (t) => {
  const db = await createTestDatabase(t)
  const account = { accountSid: 'AC00000000000000000000000000000007', authToken: 'service-receipt-token' }
  const twilio = await startFakeTwilio(t, account)
  const service = await startService({
    DATABASE_URL: db.url,
    API_TOKEN,
    SMS_PROVIDER: 'twilio',
    SMS_FROM: '+15005550006',
    TWILIO_ACCOUNT_SID: account.accountSid,
    TWILIO_AUTH_TOKEN: account.authToken,
    TWILIO_BASE_URL: twilio.baseUrl,
    PUBLIC_URL: 'https://sms.example.test',
    POLL_INTERVAL_MS: '100',
  })
  t.teardown(() => service.child.kill('SIGTERM'))
  const id = await submit(service.url)
  await until(() => twilio.ledger.length === 1, 'the send')
  const [sent] = twilio.ledger
  t.equal(sent.statusCallback, 'https://sms.example.test/v1/receipts/twilio')
  await until(async () => (await deliveryOf(service.url, id)).status === 'sent', 'the outcome to be recorded')
  // Through the "proxy": the request reaches 127.0.0.1, signed for the public URL.
  const via = `${service.url}/v1/receipts/twilio`
  t.equal(await twilio.sendStatus(sent, 'undelivered', { via, errorCode: '30005' }), 200, 'no bearer token needed')
  t.match(await deliveryOf(service.url, id), { status: 'sent', delivery: { status: 'undelivered', errorCode: '30005' } })

  // A callback that comes before the worker has recorded the send: the worker applies it
  // once the send is there.
  const sid = 'SM00000000000000000000000000000e01'
  twilio.reply = (receipt) => twilio.accept({ ...receipt, sid })
  t.equal(await twilio.sendStatus({ ...sent, sid }, 'delivered', { via }), 200, 'before its message exists')
  const second = await submit(service.url)
  await until(async () => (await deliveryOf(service.url, second)).delivery.status !== 'unknown', 'the early receipt to be applied')
  t.match(await deliveryOf(service.url, second), { status: 'sent', delivery: { status: 'delivered', errorCode: null } })
  service.child.kill('SIGTERM')
  t.equal(await service.exited, 0)
})

t.test('SOLAPI: the service polls sent messages until their receipt is final', async (t) => {
  const db = await createTestDatabase(t)
  const credentials = { apiKey: 'NCSSERVICERECEIPTS', apiSecret: 'service-receipts-secret' }
  const solapi = await startFakeSolapi(t, credentials)
  const service = await startService({
    DATABASE_URL: db.url,
    API_TOKEN,
    SMS_PROVIDER: 'solapi',
    SOLAPI_API_KEY: credentials.apiKey,
    SOLAPI_API_SECRET: credentials.apiSecret,
    SOLAPI_BASE_URL: solapi.baseUrl,
    SMS_FROM: '02-1234-5678',
    POLL_INTERVAL_MS: '100',
    RECEIPT_POLL_INTERVAL_MS: '100',
  })
  t.teardown(() => service.child.kill('SIGTERM'))
  const id = await submit(service.url)
  await until(() => solapi.listRequests.length > 0, 'a first poll (the carrier has it: 3000)')
  t.match(await deliveryOf(service.url, id), { status: 'sent', delivery: { status: 'unknown' } })
  solapi.deliveries.set(solapi.ledger[0].messageId!, '4000')
  await until(async () => (await deliveryOf(service.url, id)).delivery.status === 'delivered', 'the receipt')
  const polls = solapi.listRequests.length
  await until(async () => (await db.sql(`SELECT delivery_check_at FROM sms_outbox.messages WHERE id = $1`, [id]))[0].delivery_check_at === null, 'the schedule to end')
  service.child.kill('SIGTERM')
  t.equal(await service.exited, 0)
  t.equal(solapi.listRequests.length, polls, 'no poll after the final receipt')
  t.same(solapi.rejections, [])
})
