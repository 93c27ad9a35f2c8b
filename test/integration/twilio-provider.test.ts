import t from 'tap'
import { createTwilioProvider } from '../../src/providers/twilio-provider.ts'
import { startFakeTwilio, twilioError } from '../helpers/fake-twilio.ts'

const account = { accountSid: 'AC00000000000000000000000000000001', authToken: 'test-auth-token' }
const sender = '+15005550006'
const sms = { id: '6c1f6f8e-4a39-4b8e-9a57-3f1c2b7d9e10', to: '+821012345678', text: 'hello & goodbye', type: 'SMS' as const }
const timeout = (ms = 2_000) => AbortSignal.timeout(ms)

async function setup(t: { teardown(fn: () => unknown): void }, settings: { from?: string; authToken?: string } = {}) {
  const fake = await startFakeTwilio(t, account)
  const provider = createTwilioProvider({
    ...account,
    baseUrl: fake.baseUrl,
    from: sender,
    ...settings,
  })
  t.teardown(() => provider.close?.())
  return { fake, provider }
}

t.test('201 is ok with the sid; To, Body and From are sent as a form with Basic auth', async (t) => {
  const { fake, provider } = await setup(t)
  const outcome = await provider.send(sms, timeout())
  t.match(outcome, { kind: 'ok', httpStatus: 201, providerMessageId: /^SM[0-9a-f]{32}$/ })
  t.same(fake.rejections, [], 'the path, credentials and form passed the checks')
  t.match(fake.ledger, [{ to: '+821012345678', from: sender, messagingServiceSid: undefined, body: 'hello & goodbye' }])
})

t.test('a Messaging Service SID is sent as MessagingServiceSid, not From', async (t) => {
  const serviceSid = 'MG00000000000000000000000000000002'
  const { fake, provider } = await setup(t, { from: serviceSid })
  t.match(await provider.send(sms, timeout()), { kind: 'ok', httpStatus: 201 })
  t.same(fake.rejections, [])
  t.equal(fake.ledger.length, 1)
  t.equal(fake.ledger[0].messagingServiceSid, serviceSid)
  t.equal(fake.ledger[0].from, undefined)
})

t.test('a wrong auth token is an account failure', async (t) => {
  const { fake, provider } = await setup(t, { authToken: 'wrong-token' })
  t.match(await provider.send(sms, timeout()), {
    kind: 'account',
    errorCode: '20003',
    httpStatus: 401,
    errorMessage: /^Twilio error 20003 \(HTTP 401\): Authenticate$/,
  })
  t.same(fake.rejections, ['20003 Authenticate'])
  t.equal(fake.ledger.length, 0)
})

t.test('maps every row of the Twilio code table to its outcome kind', async (t) => {
  const { fake, provider } = await setup(t)
  const cases = [
    [429, 20429, 'rate_limited'],
    [503, 20503, 'retryable'],
    [500, 20500, 'ambiguous'],
    [401, 20003, 'account'],
    [400, 21606, 'account'],
    [400, 21408, 'account'],
    [400, 21608, 'account'],
    [400, 21211, 'permanent'],
    [400, 21614, 'permanent'],
    [400, 21635, 'permanent'],
    [400, 21610, 'permanent'],
    [400, 21612, 'permanent'],
    [400, 21617, 'permanent'],
    [400, 21611, 'retryable'],
    // The sender or the account is set up wrong: no message can go until an operator fixes it.
    [404, 20404, 'account'],
    [400, 21212, 'account'],
    [400, 21603, 'account'],
    [400, 21660, 'account'],
    // Codes outside the table fall back to the HTTP status.
    [400, 21999, 'permanent'],
    [404, 20499, 'permanent'],
    [500, 29999, 'ambiguous'],
  ] as const
  for (const [status, code, kind] of cases) {
    fake.reply = () => twilioError(status, code, `reason ${code}`)
    t.match(
      await provider.send(sms, timeout()),
      { kind, httpStatus: status, errorCode: String(code), errorMessage: `Twilio error ${code} (HTTP ${status}): reason ${code}` },
      `${status} / ${code}`,
    )
  }
})

t.test('the codes that are about the number say to suppress it, and why; no other code does', async (t) => {
  const { fake, provider } = await setup(t)
  const suppressing = new Map([
    [21211, 'invalid_number'],
    [21610, 'opted_out'],
    [21614, 'not_mobile'],
    [21635, 'not_mobile'],
  ])
  for (const code of [20429, 20503, 20500, 20003, 21606, 21408, 21608, 21211, 21614, 21635, 21610, 21612, 21617, 21611, 21999]) {
    fake.reply = () => twilioError(code === 20003 ? 401 : 400, code, `reason ${code}`)
    const outcome = await provider.send(sms, timeout())
    const suppress = outcome.kind === 'ok' ? undefined : outcome.suppress
    t.equal(suppress, suppressing.get(code), String(code))
    if (suppress) t.equal(outcome.kind, 'permanent', `${code} is permanent`)
  }
})

t.test('answers without a Twilio body are classified by HTTP status, and do not throw', async (t) => {
  const { fake, provider } = await setup(t)
  const cases = [
    [502, '<html><body>Bad Gateway</body></html>', 'ambiguous'],
    [504, '', 'ambiguous'],
    [503, 'upstream unavailable', 'retryable'],
    [429, '', 'rate_limited'],
    [403, 'not json {', 'permanent'],
  ] as const
  for (const [status, body, kind] of cases) {
    fake.reply = () => ({ status, body, headers: { 'content-type': 'text/html' } })
    t.match(
      await provider.send(sms, timeout()),
      { kind, httpStatus: status, errorCode: `http_${status}`, errorMessage: new RegExp(`^Twilio answered HTTP ${status}`) },
      `${status}`,
    )
  }
})

t.test('phone numbers quoted in Twilio messages are kept out of the error message', async (t) => {
  const { fake, provider } = await setup(t)
  fake.reply = () => twilioError(400, 21211, "The 'To' number +821012345678 is not a valid phone number.")
  const outcome = await provider.send(sms, timeout())
  t.match(outcome, { kind: 'permanent', errorMessage: "Twilio error 21211 (HTTP 400): The 'To' number <number> is not a valid phone number." })
  t.notMatch(JSON.stringify(outcome), /1012345678/)
})

t.test('429 is rate_limited and carries Retry-After in ms when Twilio sends it', async (t) => {
  const { fake, provider } = await setup(t)
  fake.reply = () => twilioError(429, 20429, 'Too Many Requests', { 'retry-after': '3' })
  t.match(await provider.send(sms, timeout()), { kind: 'rate_limited', errorCode: '20429', retryAfterMs: 3_000 })
  fake.reply = () => twilioError(429, 20429, 'Too Many Requests')
  const withoutHeader = await provider.send(sms, timeout())
  t.match(withoutHeader, { kind: 'rate_limited', errorCode: '20429', httpStatus: 429 })
  t.notOk('retryAfterMs' in withoutHeader, 'no Retry-After: the dispatcher uses its backoff')
})

t.test("21611 (the sender's queue is over 10 hours) is retryable after 15 minutes", async (t) => {
  const { fake, provider } = await setup(t)
  fake.reply = () => twilioError(400, 21611, 'This From number has exceeded the maximum number of queued messages')
  t.match(await provider.send(sms, timeout()), {
    kind: 'retryable',
    errorCode: '21611',
    httpStatus: 400,
    retryAfterMs: 900_000,
  })
})

t.test('the fake refuses what Twilio refuses, so "no rejections" above means something', async (t) => {
  const fake = await startFakeTwilio(t, account)
  const authorization = `Basic ${Buffer.from(`${account.accountSid}:${account.authToken}`).toString('base64')}`
  const form = 'application/x-www-form-urlencoded'
  const post = (path: string, contentType: string, body: string) =>
    fetch(`${fake.baseUrl}${path}`, { method: 'POST', headers: { authorization, 'content-type': contentType }, body })
  const messages = `/2010-04-01/Accounts/${account.accountSid}/Messages.json`
  const refusals = [
    [post('/2010-04-01/Accounts/AC0/Messages.json', form, 'To=%2B12025550123&Body=hi&From=%2B15005550006'), 404, 20404],
    [post(messages, 'application/json', JSON.stringify({ To: '+12025550123', Body: 'hi', From: sender })), 400, 21604],
    [post(messages, form, 'To=%2B12025550123&From=%2B15005550006'), 400, 21602],
    [post(messages, form, 'To=%2B12025550123&Body=hi'), 400, 21603],
    [post(messages, form, 'To=%2B12025550123&Body=hi&From=%2B15005550006&MessagingServiceSid=MG1'), 400, 21603],
  ] as const
  for (const [answer, status, code] of refusals) {
    const response = await answer
    t.equal(response.status, status)
    t.match(await response.json(), { code, status })
  }
  t.equal(fake.rejections.length, refusals.length)
  t.equal(fake.ledger.length, 0)
})

t.test('a wrong Account SID (404 20404 from the fake, as Twilio answers) is an account problem', async (t) => {
  const fake = await startFakeTwilio(t, account)
  const provider = createTwilioProvider({ ...account, accountSid: 'AC00000000000000000000000000000009', baseUrl: fake.baseUrl, from: sender })
  t.teardown(() => provider.close?.())
  t.match(await provider.send(sms, timeout()), { kind: 'account', errorCode: '20404', httpStatus: 404 })
  t.equal(fake.ledger.length, 0)
})

t.test('a 201 whose message already says status failed is not ok: its error_code decides, else permanent', async (t) => {
  const { fake, provider } = await setup(t)
  // MessageInstance in twilio 6.3.1: status "failed", error_code a number, error_message a string or null.
  const failedWith = (errorCode: number | null, errorMessage: string | null) => (receipt: Parameters<typeof fake.accept>[0]) => {
    const accepted = fake.accept(receipt) as { status: number; body: string }
    const body = { ...JSON.parse(accepted.body), status: 'failed', error_code: errorCode, error_message: errorMessage }
    return { status: 201, body: JSON.stringify(body) }
  }
  fake.reply = failedWith(30008, 'Unknown error')
  t.match(await provider.send(sms, timeout()), {
    kind: 'permanent',
    errorCode: '30008',
    httpStatus: 201,
    errorMessage: /^Twilio error 30008 \(HTTP 201, status failed\): Unknown error$/,
  })
  fake.reply = failedWith(21610, 'Attempt to send to unsubscribed recipient')
  t.match(await provider.send(sms, timeout()), { kind: 'permanent', errorCode: '21610', suppress: 'opted_out' })
  fake.reply = failedWith(21212, 'Invalid From Number')
  t.match(await provider.send(sms, timeout()), { kind: 'account', errorCode: '21212' })
  fake.reply = failedWith(null, null)
  t.match(await provider.send(sms, timeout()), { kind: 'permanent', errorCode: 'status_failed', httpStatus: 201 })
})
