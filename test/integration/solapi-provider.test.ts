import { pino } from 'pino'
import t from 'tap'
import { request } from 'undici'
import { solapiAuthorization } from '../../src/providers/solapi-signature.ts'
import { outcomesOfSolapiBatchResponse } from '../../src/providers/solapi-outcomes.ts'
import { createSolapiProvider } from '../../src/providers/solapi-provider.ts'
import { fakeSolapiReplies, startFakeSolapi } from '../helpers/fake-solapi.ts'

const credentials = { apiKey: 'NCSFAKEKEY0001', apiSecret: 'FAKESECRET0123456789ABCDEFGHIJKL' }
// Fictional numbers only: 010-1234-5678 and a US 555 number.
const sms = { id: '0b6c2f4e-2d7a-4f1e-9c3b-5a8d7e6f1a20', to: '+821012345678', text: 'hello', type: 'SMS' as const }
const sender = '02-1234-5678'
const timeout = (ms = 2_000) => AbortSignal.timeout(ms)

async function setUp(t: { teardown(fn: () => unknown): void }, settings: Partial<typeof credentials> = {}) {
  const fake = await startFakeSolapi(t, credentials)
  const provider = createSolapiProvider({ ...credentials, ...settings, baseUrl: fake.baseUrl, from: sender })
  t.teardown(() => provider.close?.())
  return { fake, provider }
}

t.test('an accepted message is ok and keeps SOLAPI messageId', async (t) => {
  const { fake, provider } = await setUp(t)
  let messageId = ''
  fake.reply = (receipt, n) => {
    const reply = fakeSolapiReplies.accepted()(receipt, n) as { status: number; body: string }
    messageId = (JSON.parse(reply.body) as { messageId: string }).messageId
    return reply
  }
  const outcome = await provider.send(sms, timeout())
  t.match(messageId, /^M4V[0-9A-F]{16}$/)
  t.same(outcome, { kind: 'ok', providerMessageId: messageId, httpStatus: 200 })
  t.match(fake.ledger, [{ to: '01012345678', from: '0212345678', text: 'hello', type: 'SMS', country: undefined }])
})

t.test('signs every send afresh: the fake accepts them all and sees no reused salt', async (t) => {
  const { fake, provider } = await setUp(t)
  const outcomes = await Promise.all([1, 2, 3, 4, 5].map(() => provider.send(sms, timeout())))
  t.same(outcomes.map((outcome) => outcome.kind), ['ok', 'ok', 'ok', 'ok', 'ok'])
  t.same(fake.rejections, [])
  t.equal(fake.ledger.length, 5)
})

t.test('the fake refuses a reused salt and a skewed date, so the test above can fail', async (t) => {
  const fake = await startFakeSolapi(t, credentials)
  const body = JSON.stringify({ message: { to: '01012345678', from: '0212345678', text: 'hello' } })
  const post = async (authorization: string) => {
    const response = await request(`${fake.baseUrl}/messages/v4/send`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body,
    })
    return { status: response.statusCode, body: await response.body.json() }
  }
  const reused = solapiAuthorization(credentials.apiKey, credentials.apiSecret, new Date(), 'fixedsalt0123456')
  t.equal((await post(reused)).status, 200)
  t.same(await post(reused), { status: 403, body: { errorCode: 'DuplicatedSignature', errorMessage: 'This signature has already been used' } })
  const stale = new Date(Date.now() - 16 * 60_000)
  t.match(await post(solapiAuthorization(credentials.apiKey, credentials.apiSecret, stale)), { status: 403, body: { errorCode: 'RequestTimeTooSkewed' } })
  t.match(await post(solapiAuthorization('NCSUNKNOWNKEY', credentials.apiSecret)), { status: 403, body: { errorCode: 'InvalidAPIKey' } })
  t.same(fake.rejections, ['DuplicatedSignature', 'RequestTimeTooSkewed', 'InvalidAPIKey'])
  t.equal(fake.ledger.length, 1)
})

t.test('a wrong secret is an account problem: SignatureDoesNotMatch, nothing sent', async (t) => {
  const { fake, provider } = await setUp(t, { apiSecret: 'NOT-THE-SECRET' })
  t.match(await provider.send(sms, timeout()), {
    kind: 'account',
    errorCode: 'SignatureDoesNotMatch',
    errorMessage: /^SOLAPI answered HTTP 403 SignatureDoesNotMatch: /,
    httpStatus: 403,
  })
  t.same(fake.rejections, ['SignatureDoesNotMatch'])
  t.equal(fake.ledger.length, 0)
})

t.test('a message without text is refused by the fake as SOLAPI does: permanent ValidationError', async (t) => {
  const { fake, provider } = await setUp(t)
  t.match(await provider.send({ ...sms, text: '' }, timeout()), { kind: 'permanent', errorCode: 'ValidationError', httpStatus: 400 })
  t.same(fake.rejections, ['ValidationError'])
})

t.test('each error answer in the code table gives its kind', async (t) => {
  const { fake, provider } = await setUp(t)
  const cases = [
    [400, 'ValidationError', 'permanent'],
    [404, 'NotFound', 'permanent'],
    [402, 'NotEnoughBalance', 'account'],
    [403, 'InvalidAPIKey', 'account'],
    [403, 'SignatureDoesNotMatch', 'account'],
    [403, 'RequestTimeTooSkewed', 'account'],
    [403, 'DuplicatedSignature', 'retryable'],
    [503, 'ServiceUnavailable', 'retryable'],
    [500, 'InternalError', 'ambiguous'],
    [502, 'BadGateway', 'ambiguous'],
    [504, 'GatewayTimeout', 'ambiguous'],
    [422, 'Unprocessable', 'permanent'],
    [507, 'InsufficientStorage', 'ambiguous'],
  ] as const
  for (const [status, errorCode, kind] of cases) {
    fake.reply = fakeSolapiReplies.error(status, errorCode, `because ${errorCode}`)
    t.same(
      await provider.send(sms, timeout()),
      { kind, errorCode, errorMessage: `SOLAPI answered HTTP ${status} ${errorCode}: because ${errorCode}`, httpStatus: status },
      `${status} ${errorCode}`,
    )
  }
  for (const errorCode of ['AlreadySent', 'GroupInProcessing']) {
    fake.reply = fakeSolapiReplies.error(409, errorCode)
    t.same(await provider.send(sms, timeout()), { kind: 'ok', httpStatus: 409 }, `409 ${errorCode}`)
  }
  t.same(fake.rejections, [], 'every answer above came from the script, not the fake auth')
})

t.test('a body that is not JSON does not throw: the HTTP status decides', async (t) => {
  const { fake, provider } = await setUp(t)
  const cases = [
    [502, 'ambiguous', 'http_502'],
    [503, 'retryable', 'http_503'],
    [413, 'permanent', 'http_413'],
    [200, 'ambiguous', 'http_200'],
  ] as const
  for (const [status, kind, errorCode] of cases) {
    fake.reply = () => ({ status, body: '<html>upstream says no</html>' })
    t.match(await provider.send(sms, timeout()), { kind, errorCode, errorMessage: /^SOLAPI answered HTTP \d+.*upstream says no/, httpStatus: status }, `${status}`)
  }
})

t.test('each refusing statusCode in a 200 gives its kind', async (t) => {
  const { fake, provider } = await setUp(t)
  const cases = [
    ['1010', 'permanent'],
    ['1029', 'permanent'],
    ['1031', 'permanent'],
    ['1034', 'permanent'],
    ['1020', 'account'],
    ['1030', 'account'],
    ['2230', 'account'],
    ['1062', 'account'],
    ['2062', 'account'],
    ['2063', 'account'],
    ['1024', 'retryable'],
    ['2024', 'retryable'],
    ['3024', 'retryable'],
    ['1060', 'permanent'],
    ['2060', 'permanent'],
    ['1061', 'permanent'],
    ['2061', 'permanent'],
    ['1064', 'permanent'],
    ['2064', 'permanent'],
    ['2254', 'permanent'],
    ['3010', 'permanent'],
    ['3013', 'permanent'],
    ['3032', 'permanent'],
    ['3050', 'permanent'],
    ['2999', 'permanent'], // unknown, but SOLAPI judged it
    ['9999', 'ambiguous'], // outside the known ranges: cannot tell whether it went out
  ] as const
  // The 080 opt-outs are the number's fault: it goes on the suppression list.
  const optOuts = ['1060', '2060', '1061', '2061']
  for (const [statusCode, kind] of cases) {
    fake.reply = fakeSolapiReplies.statusCode(statusCode, `verdict ${statusCode}`)
    t.same(
      await provider.send(sms, timeout()),
      {
        kind,
        errorCode: statusCode,
        errorMessage: `SOLAPI refused the message with statusCode ${statusCode}: verdict ${statusCode}`,
        httpStatus: 200,
        ...(optOuts.includes(statusCode) ? { suppress: 'opted_out' } : {}),
      },
      statusCode,
    )
  }
})

t.test('phone numbers quoted by SOLAPI are kept out of the error message', async (t) => {
  const { fake, provider } = await setUp(t)
  fake.reply = fakeSolapiReplies.statusCode('1062', 'sender 02-1234-5678 is not registered to send to 01012345678')
  t.match(await provider.send(sms, timeout()), {
    kind: 'account',
    errorMessage: 'SOLAPI refused the message with statusCode 1062: sender <number> is not registered to send to <number>',
  })
})

t.test("429 is rate_limited and carries SOLAPI's fractional x-retry-after in ms", async (t) => {
  const { fake, provider } = await setUp(t)
  fake.reply = fakeSolapiReplies.tooManyRequests(1.5)
  t.same(await provider.send(sms, timeout()), {
    kind: 'rate_limited',
    errorCode: 'TooManyRequests',
    errorMessage: 'SOLAPI answered HTTP 429 TooManyRequests: Too many requests',
    httpStatus: 429,
    retryAfterMs: 1_500,
  })
  fake.reply = () => ({ status: 429, headers: { 'retry-after': '3' }, body: '{"message":"slow down"}' })
  t.match(await provider.send(sms, timeout()), { kind: 'rate_limited', errorCode: 'http_429', retryAfterMs: 3_000 }, 'standard Retry-After')
})

t.test('numbers: Korean ones in domestic form, others as national number plus country', async (t) => {
  const fake = await startFakeSolapi(t, credentials)
  const provider = createSolapiProvider({ ...credentials, baseUrl: fake.baseUrl, from: '+82 2-1234-5678' })
  t.teardown(() => provider.close?.())
  t.match(await provider.send(sms, timeout()), { kind: 'ok' })
  t.match(await provider.send({ ...sms, to: '+12025550123' }, timeout()), { kind: 'ok' })
  t.same(
    fake.ledger.map(({ to, from, country }) => ({ to, from, country })),
    [
      { to: '01012345678', from: '0212345678', country: undefined },
      { to: '2025550123', from: '0212345678', country: '1' },
    ],
  )
})

t.test('a recipient that is not a phone number is permanent and not quoted', async (t) => {
  const { fake, provider } = await setUp(t)
  const outcome = await provider.send({ ...sms, to: 'not-a-number-1234' }, timeout())
  t.same(outcome, { kind: 'permanent', errorCode: 'invalid_recipient', errorMessage: 'the recipient is not an E.164 number' })
  t.equal(fake.ledger.length, 0)
})

// send-many/detail: several messages per call, a verdict for each.
// Fictional numbers in the form SOLAPI's own samples use: 010-0000-00NN.
const batchOf = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    ...sms,
    id: `0b6c2f4e-2d7a-4f1e-9c3b-5a8d7e6f1a${String(i).padStart(2, '0')}`,
    to: `+8210000000${String(i + 1).padStart(2, '0')}`,
    text: `hello ${i}`,
  }))

async function setUpBatching(t: { teardown(fn: () => unknown): void }) {
  const logs: { level: number; msg: string; matchedBy?: string }[] = []
  const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) })
  const fake = await startFakeSolapi(t, credentials)
  const provider = createSolapiProvider({ ...credentials, baseUrl: fake.baseUrl, from: sender, batchLimit: 100, log })
  t.teardown(() => provider.close?.())
  return { fake, provider, sendMany: provider.sendMany!, logs }
}

t.test('without a batchLimit above 1 the provider has no sendMany: one send call per message', async (t) => {
  const { provider } = await setUp(t)
  t.equal(provider.sendMany, undefined)
  const { provider: batching } = await setUpBatching(t)
  t.equal(batching.batchLimit, 100)
})

t.test('send-many: one request carries the batch, each message ok with its own messageId', async (t) => {
  const { fake, sendMany } = await setUpBatching(t)
  const batch = batchOf(3)
  const outcomes = await sendMany(batch, timeout())
  t.same(fake.requests, [3], 'one request of three messages')
  t.same(fake.rejections, [])
  t.same(outcomes.map((o) => o.kind), ['ok', 'ok', 'ok'])
  const ids = outcomes.map((o) => (o.kind === 'ok' ? o.providerMessageId : undefined))
  for (const id of ids) t.match(id, /^M4V[0-9A-F]{16}$/)
  t.equal(new Set(ids).size, 3, 'a messageId each')
  t.same(
    fake.ledger.map(({ to, from, text, outboxId }) => ({ to, from, text, outboxId })),
    batch.map((m, i) => ({ to: `010000000${String(i + 1).padStart(2, '0')}`, from: '0212345678', text: m.text, outboxId: m.id })),
  )
})

t.test('send-many: verdicts are matched to messages by id, whatever the order of the lists', async (t) => {
  const { fake, sendMany } = await setUpBatching(t)
  const batch = batchOf(5)
  // The refused ones go to failedMessageList, so the answer's order is not the request's.
  const verdicts: Record<string, string> = { '01000000001': '1062', '01000000003': '2060', '01000000004': '1024' }
  fake.reply = (receipt, n) =>
    verdicts[receipt.to]
      ? fakeSolapiReplies.statusCode(verdicts[receipt.to], `verdict for ${receipt.to}`)(receipt, n)
      : fakeSolapiReplies.accepted()(receipt, n)
  const outcomes = await sendMany(batch, timeout())
  t.match(outcomes, [
    { kind: 'account', errorCode: '1062', errorMessage: 'SOLAPI refused the message with statusCode 1062: verdict for <number>', httpStatus: 200 },
    { kind: 'ok', providerMessageId: /^M4V/ },
    { kind: 'permanent', errorCode: '2060', suppress: 'opted_out' },
    { kind: 'retryable', errorCode: '1024' },
    { kind: 'ok', providerMessageId: /^M4V/ },
  ])
  t.same(fake.requests, [5])
})

t.test('send-many: a refused request is the same outcome for every message in it', async (t) => {
  const { fake, sendMany } = await setUpBatching(t)
  const batch = batchOf(3)
  fake.reply = fakeSolapiReplies.tooManyRequests(2)
  const limited = await sendMany(batch, timeout())
  t.same(limited.map((o) => o.kind), ['rate_limited', 'rate_limited', 'rate_limited'])
  t.match(limited[2], { errorCode: 'TooManyRequests', retryAfterMs: 2_000, httpStatus: 429 })
  fake.reply = fakeSolapiReplies.error(402, 'NotEnoughBalance')
  t.match(await sendMany(batch, timeout()), [
    { kind: 'account', errorCode: 'NotEnoughBalance' },
    { kind: 'account', errorCode: 'NotEnoughBalance' },
    { kind: 'account', errorCode: 'NotEnoughBalance' },
  ])
  fake.reply = fakeSolapiReplies.error(500, 'InternalError')
  t.same((await sendMany(batch, timeout())).map((o) => o.kind), ['ambiguous', 'ambiguous', 'ambiguous'])
  t.same(fake.requests, [3, 3, 3], 'no message was sent again on its own')
})

t.test('send-many: a 400 for the whole request sends each message on its own, so only the bad one dies', async (t) => {
  const { fake, sendMany } = await setUpBatching(t)
  const [good, bad, alsoGood] = batchOf(3)
  const outcomes = await sendMany([good, { ...bad, text: '' }, alsoGood], timeout())
  t.match(outcomes, [
    { kind: 'ok' },
    { kind: 'permanent', errorCode: 'ValidationError', httpStatus: 400 },
    { kind: 'ok' },
  ])
  t.same(fake.rejections, ['ValidationError', 'ValidationError'], 'the batch, then the bad message alone')
  t.same(fake.requests, [1, 1], 'the good ones, each on its own')
})

t.test('send-many: a hung call times out every message of it as ambiguous', async (t) => {
  const { fake, sendMany } = await setUpBatching(t)
  fake.reply = () => ({ hang: true })
  const outcomes = await sendMany(batchOf(4), timeout(300))
  t.same(outcomes.map((o) => o.kind === 'ambiguous' && o.errorCode), ['timeout', 'timeout', 'timeout', 'timeout'])
  t.equal(fake.ledger.length, 4, 'the request did reach the provider')
  fake.reply = () => ({ reset: true })
  t.same((await sendMany(batchOf(2), timeout())).map((o) => o.kind), ['ambiguous', 'ambiguous'])
})

t.test('send-many: an invalid recipient is permanent and left out; the others go', async (t) => {
  const { fake, sendMany } = await setUpBatching(t)
  const [first, second] = batchOf(2)
  t.match(await sendMany([first, { ...second, to: 'not-a-number-1234' }], timeout()), [
    { kind: 'ok' },
    { kind: 'permanent', errorCode: 'invalid_recipient' },
  ])
  t.same(fake.requests, [1])
  t.same(await sendMany([{ ...second, to: 'not-a-number-1234' }], timeout()), [
    { kind: 'permanent', errorCode: 'invalid_recipient', errorMessage: 'the recipient is not an E.164 number' },
  ])
  t.same(fake.requests, [1], 'nothing to send: no request')
})

t.test('send-many answers: a message the answer does not mention is ambiguous', async (t) => {
  const ids = ['a', 'b', 'c'].map((id, i) => ({ id, to: `0100000000${i + 1}` }))
  const answer = JSON.stringify({
    groupInfo: { count: { total: 3 } },
    messageList: [{ messageId: 'M4VA', statusCode: '2000', customFields: { outboxId: 'a' } }],
    failedMessageList: [{ statusCode: '1062', statusMessage: 'no sender', customFields: { outboxId: 'c' } }],
  })
  t.match(outcomesOfSolapiBatchResponse(200, {}, answer, ids).outcomes, [
    { kind: 'ok', providerMessageId: 'M4VA' },
    { kind: 'ambiguous', errorCode: 'http_200', errorMessage: 'SOLAPI answered HTTP 200 without a verdict on this message' },
    { kind: 'account', errorCode: '1062' },
  ])
  // Without showMessageList, accepted messages are not listed: ambiguous, never assumed sent.
  t.match(outcomesOfSolapiBatchResponse(200, {}, '{"failedMessageList":[]}', ids.slice(0, 1)).outcomes, [{ kind: 'ambiguous' }])
  t.match(outcomesOfSolapiBatchResponse(200, {}, '<html>proxy</html>', ids.slice(0, 2)).outcomes, [
    { kind: 'ambiguous', errorMessage: /proxy/ },
    { kind: 'ambiguous', errorMessage: /proxy/ },
  ])
})

t.test('a 401 is an account problem (the provider pauses), with no body or an errorCode not in the table', async (t) => {
  const { fake, provider, sendMany } = await setUpBatching(t)
  fake.reply = () => ({ status: 401, body: '' })
  t.match(await provider.send(sms, timeout()), { kind: 'account', errorCode: 'http_401', httpStatus: 401 })
  fake.reply = fakeSolapiReplies.error(401, 'Unauthorized', 'no such key')
  t.match(await provider.send(sms, timeout()), { kind: 'account', errorCode: 'Unauthorized', httpStatus: 401 })
  fake.requests.length = 0
  const outcomes = await sendMany(batchOf(3), timeout())
  t.same(outcomes.map((o) => o.kind), ['account', 'account', 'account'])
  t.same(fake.requests, [3], 'a batch refused with 401 is not sent again message by message')
})

t.test('send-many without customFields: a sender refused for every message (1062) is matched by position, and pauses', async (t) => {
  const { fake, sendMany, logs } = await setUpBatching(t)
  fake.manyAnswer = { customFields: false, messageListTo: false }
  fake.reply = fakeSolapiReplies.statusCode('1062', 'sender number not registered')
  const outcomes = await sendMany(batchOf(3), timeout())
  t.same(outcomes.map((o) => o.kind !== 'ok' && o.errorCode), ['1062', '1062', '1062'])
  t.same(outcomes.map((o) => o.kind), ['account', 'account', 'account'])
  await sendMany(batchOf(2), timeout())
  t.match(logs.filter((line) => line.level === 40), [{ matchedBy: 'position', msg: /SOLAPI send-many answer matched by position/ }], 'one warning per process')
})

t.test('send-many without customFields: each verdict goes to the message at its position when the `to`s agree', async (t) => {
  const { fake, sendMany } = await setUpBatching(t)
  fake.manyAnswer = { customFields: false, messageListTo: true }
  const messageIds = new Map<string, string>()
  fake.reply = (receipt, n) => {
    const reply = fakeSolapiReplies.accepted()(receipt, n) as { status: number; body: string }
    messageIds.set(receipt.to, (JSON.parse(reply.body) as { messageId: string }).messageId)
    return reply
  }
  const outcomes = await sendMany(batchOf(3), timeout())
  t.same(
    outcomes.map((o) => o.kind === 'ok' && o.providerMessageId),
    ['01000000001', '01000000002', '01000000003'].map((to) => messageIds.get(to)),
  )
})

t.test('send-many without customFields or `to`: an accepted group with registeredFailed 0 is ok, not ambiguous', async (t) => {
  const { fake, sendMany, logs } = await setUpBatching(t)
  fake.manyAnswer = { customFields: false, messageListTo: false }
  const outcomes = await sendMany(batchOf(3), timeout())
  t.same(outcomes, [1, 2, 3].map(() => ({ kind: 'ok', httpStatus: 200 })))
  t.same(fake.requests, [3])
  t.match(logs.filter((line) => line.level === 40), [{ matchedBy: 'group_count' }])
})

t.test('send-many without customFields: a mixed answer whose lists cannot be placed stays ambiguous', async (t) => {
  const { fake, sendMany } = await setUpBatching(t)
  fake.manyAnswer = { customFields: false, messageListTo: true }
  fake.reply = (receipt, n) =>
    receipt.to === '01000000002' ? fakeSolapiReplies.statusCode('1062')(receipt, n) : fakeSolapiReplies.accepted()(receipt, n)
  t.same((await sendMany(batchOf(3), timeout())).map((o) => o.kind), ['ambiguous', 'ambiguous', 'ambiguous'])
})

t.test('send-many answers in the SDK schema: position needs equal counts and the same `to` at each place', async (t) => {
  const sent = [{ id: 'a', to: '01000000001' }, { id: 'b', to: '01000000002' }]
  const failed = (to: string) => ({ to, from: '0212345678', type: 'SMS', statusMessage: 'no sender', country: '82', messageId: 'M4V1', statusCode: '1062', accountId: '1' })
  const counts = (registeredFailed: number) => ({ groupInfo: { count: { total: 2, registeredSuccess: 2 - registeredFailed, registeredFailed } } })
  const judge = (answer: object) => outcomesOfSolapiBatchResponse(200, {}, JSON.stringify(answer), sent).outcomes.map((o) => o.kind)
  t.same(judge({ ...counts(2), failedMessageList: [failed('01000000001'), failed('01000000002')] }), ['account', 'account'])
  t.same(judge({ ...counts(2), failedMessageList: [failed('01000000002'), failed('01000000001')] }), ['ambiguous', 'ambiguous'], 'to differs')
  t.same(judge({ ...counts(1), failedMessageList: [failed('01000000001')] }), ['ambiguous', 'ambiguous'], 'count differs')
  t.same(judge({ ...counts(0), failedMessageList: [] }), ['ok', 'ok'])
  t.same(judge({ ...counts(0) }), ['ok', 'ok'], 'no failedMessageList at all')
  t.same(judge({ failedMessageList: [] }), ['ambiguous', 'ambiguous'], 'no group counts: nothing says it was taken')
})
