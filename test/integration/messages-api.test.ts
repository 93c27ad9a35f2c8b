import t from 'tap'
import { buildTestApp } from '../helpers/test-app.ts'
import { silentLog } from '../helpers/outbox-fixture.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

const db = await createTestDatabase(t)
const app = await buildTestApp({ config: { DATABASE_URL: db.url }, database: db, logger: silentLog })
t.teardown(() => app.close())

const post = (payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/v1/messages', payload: payload as object, headers })
const rowCount = async () => (await db.sql('SELECT count(*)::int AS n FROM sms_outbox.messages'))[0].n as number

t.test('202 with the committed message; the number normalised, stored in full, shown masked', async (t) => {
  const response = await post({ to: '010-1234-5678', text: '안녕하세요, 결과가 준비되었습니다.' })
  t.equal(response.statusCode, 202)
  const body = response.json()
  t.match(body, { status: 'pending', to: '+82 10-****-5678', type: 'SMS', bytes: 34 })
  t.ok(Date.parse(body.nextAttemptAt) && Date.parse(body.createdAt))
  const [row] = await db.sql('SELECT recipient, body, max_retries FROM sms_outbox.messages WHERE id = $1', [body.id])
  t.same(row, { recipient: '+821012345678', body: '안녕하세요, 결과가 준비되었습니다.', max_retries: 3 })
})

t.test('long text becomes an LMS', async (t) => {
  const response = await post({ to: '+821012345678', text: 'x'.repeat(91) })
  t.match(response.json(), { type: 'LMS', bytes: 91 })
})

t.test('bad input: a 4xx that says what is wrong, and no row', async (t) => {
  const cases: [string, unknown, number, RegExp][] = [
    ['missing to', { text: 'hi' }, 400, /must have required property 'to'/],
    ['malformed to', { to: '12345', text: 'hi' }, 400, /to: .* not a valid phone number/],
    ['landline', { to: '02-312-3456', text: 'hi' }, 400, /landline/],
    ['to of the wrong type', { to: ['+821012345678'], text: 'hi' }, 400, /to/],
    ['empty text', { to: '+821012345678', text: '' }, 400, /text/],
    ['text over 2,000 bytes', { to: '+821012345678', text: '가'.repeat(1001) }, 400, /2002 bytes/],
    ['emoji', { to: '+821012345678', text: 'hi 😀' }, 400, /U\+1F600/],
    ['NUL in text', { to: '+821012345678', text: 'a\u0000b' }, 400, /control character/],
    ['unknown field', { to: '+821012345678', text: 'hi', priority: 'high' }, 400, /must NOT have additional properties/],
    ['bad sendAt', { to: '+821012345678', text: 'hi', sendAt: 'tomorrow' }, 400, /sendAt must match format "date-time"/],
    ['expiresAt in the past', { to: '+821012345678', text: 'hi', expiresAt: '2020-01-01T00:00:00Z' }, 400, /expiresAt: must be in the future/],
    ['expiresAt before sendAt', { to: '+821012345678', text: 'hi', sendAt: '2099-01-02T00:00:00Z', expiresAt: '2099-01-01T00:00:00Z' }, 400, /after sendAt/],
    ['maxRetries as a string', { to: '+821012345678', text: 'hi', maxRetries: '3' }, 400, /maxRetries must be integer/],
    ['negative maxRetries', { to: '+821012345678', text: 'hi', maxRetries: -1 }, 400, /maxRetries must be >= 0/],
    ['NUL in metadata', { to: '+821012345678', text: 'hi', metadata: { a: 'x\u0000' } }, 400, /U\+0000/],
    ['unpaired surrogate in metadata', { to: '+821012345678', text: 'hi', metadata: { a: 'x\ud800' } }, 400, /unpaired surrogate/],
    ['__proto__ key', JSON.parse('{"to":"+821012345678","text":"hi","__proto__":{"x":1}}'), 400, /.+/],
    ['not an object', [1, 2], 400, /body must be object/],
  ]
  const before = await rowCount()
  for (const [name, payload, status, message] of cases) {
    const response = await post(payload)
    t.equal(response.statusCode, status, name)
    t.match(response.json(), { statusCode: status, code: String, error: String, message }, name)
  }
  t.equal(await rowCount(), before, 'no row written')
})

t.test('a body over the limit is a 413 and the wrong content type a 415', async (t) => {
  const before = await rowCount()
  const big = await post({ to: '+821012345678', text: 'x'.repeat(70_000) })
  t.match(big, { statusCode: 413 })
  t.match(big.json(), { code: 'PAYLOAD_TOO_LARGE' })
  const form = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    payload: 'to=%2B821012345678&text=hi',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  t.match(form, { statusCode: 415 })
  t.match(form.json(), { code: 'UNSUPPORTED_MEDIA_TYPE' })
  const broken = await app.inject({ method: 'POST', url: '/v1/messages', payload: '{"to":', headers: { 'content-type': 'application/json' } })
  t.match(broken, { statusCode: 400 })
  t.match(broken.json(), { code: 'INVALID_JSON' })
  t.equal(await rowCount(), before)
})

t.test('Idempotency-Key: the same body returns the original (200); another body is a 409', async (t) => {
  const headers = { 'idempotency-key': 'order-1842-receipt' }
  const first = await post({ to: '010-1234-5678', text: 'order shipped' }, headers)
  t.equal(first.statusCode, 202)
  // The same number written another way is the same request.
  const again = await post({ to: '+821012345678', text: 'order shipped' }, headers)
  t.equal(again.statusCode, 200)
  t.equal(again.json().id, first.json().id)
  const before = await rowCount()
  const conflict = await post({ to: '+821012345678', text: 'order cancelled' }, headers)
  t.equal(conflict.statusCode, 409)
  t.match(conflict.json(), { code: 'IDEMPOTENCY_CONFLICT', message: /order-1842-receipt/ })
  t.equal(await rowCount(), before)
})

t.test('a caller cannot take the key of a result-ready notification', async (t) => {
  const before = await rowCount()
  const response = await post({ to: '010-1234-5678', text: 'hi' }, { 'idempotency-key': 'result-ready:job-7' })
  t.equal(response.statusCode, 400)
  t.match(response.json(), { code: 'INVALID_MESSAGE', message: /idempotencyKey: the prefix "result-ready:" is reserved/ })
  t.equal(await rowCount(), before)
})

t.test('50 parallel requests with one key make one row and one id', async (t) => {
  const headers = { 'idempotency-key': 'race-1' }
  const responses = await Promise.all(
    Array.from({ length: 50 }, () => post({ to: '+821012345678', text: 'race' }, headers)),
  )
  t.same(new Set(responses.map((r) => r.statusCode)), new Set([202, 200]))
  t.equal(responses.filter((r) => r.statusCode === 202).length, 1)
  t.equal(new Set(responses.map((r) => r.json().id)).size, 1)
  const [{ n }] = await db.sql(`SELECT count(*)::int AS n FROM sms_outbox.messages WHERE idempotency_key = encode(sha256(convert_to('race-1', 'UTF8')), 'hex')`)
  t.equal(n, 1)
})

t.test('batch: one result per item, in order; one bad item rejects the batch, naming it', async (t) => {
  const messages = Array.from({ length: 5 }, (_, i) => ({ to: `+8210000000${i}0`, text: `batch ${i}` }))
  messages[2] = { ...messages[2], idempotencyKey: 'batch-item-2' } as (typeof messages)[number]
  const response = await app.inject({ method: 'POST', url: '/v1/messages/batch', payload: { messages } })
  t.equal(response.statusCode, 202)
  const results = response.json().messages
  t.equal(results.length, 5)
  for (const [i, result] of results.entries()) {
    const [row] = await db.sql('SELECT body FROM sms_outbox.messages WHERE id = $1', [result.id])
    t.equal(row.body, `batch ${i}`, `item ${i} in order`)
    t.equal(result.created, true)
  }

  const replay = await app.inject({ method: 'POST', url: '/v1/messages/batch', payload: { messages: [messages[2]] } })
  t.match(replay.json().messages, [{ id: results[2].id, created: false }])

  const before = await rowCount()
  const bad = [...messages.slice(0, 3), { to: 'nope', text: 'x' }]
  const rejected = await app.inject({ method: 'POST', url: '/v1/messages/batch', payload: { messages: bad } })
  t.equal(rejected.statusCode, 400)
  t.match(rejected.json().message, /^messages\/3\/to: /)
  const tooMany = await app.inject({
    method: 'POST',
    url: '/v1/messages/batch',
    payload: { messages: Array.from({ length: 1001 }, () => messages[0]) },
  })
  t.equal(tooMany.statusCode, 400)
  t.equal(await rowCount(), before)
})

t.test('GET /v1/messages/:id returns the message with its attempts; unknown is 404', async (t) => {
  const created = (await post({ to: '+821012345678', text: 'status please', metadata: { orderId: 42 } })).json()
  const response = await app.inject({ method: 'GET', url: `/v1/messages/${created.id}` })
  t.equal(response.statusCode, 200)
  t.match(response.json(), {
    id: created.id,
    status: 'pending',
    to: '+82 10-****-5678',
    text: 'status please',
    attempts: [],
    attemptCount: 0,
    maxRetries: 3,
    lastError: null,
    providerMessageId: null,
    metadata: { orderId: 42 },
  })
  t.notMatch(response.body, /1012345678/, 'the full number is not in the response')
  const missing = await app.inject({ method: 'GET', url: '/v1/messages/8b1e6f6e-0000-4000-8000-000000000000' })
  t.match(missing, { statusCode: 404 })
  t.match(missing.json(), { code: 'MESSAGE_NOT_FOUND' })
  t.match(await app.inject({ method: 'GET', url: '/v1/messages/not-a-uuid' }), { statusCode: 400 })
})

t.test('health and readiness', async (t) => {
  t.same((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' })
  t.same((await app.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ready' })
  t.match(await app.inject({ method: 'GET', url: '/nope' }), { statusCode: 404 })
})
