import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import type { Static, TSchema } from 'typebox'
import { Value } from 'typebox/value'
import {
  SmsOutboxClient,
  SmsOutboxError,
  type AdminListFilter,
  type BulkRetryRequest,
  type MessageStatus,
  type SmsOutboxClientOptions,
} from '../../src/client/index.ts'
import {
  AdminMessageDetailSchema,
  AdminListQuerySchema,
  BulkRetryRequestSchema,
  BulkRetryResultSchema,
  MessageActionResultSchema,
  MessagePageSchema,
  ProviderParamsSchema,
  ProvidersSchema,
  StatsSchema,
} from '../../src/http/admin-schemas.ts'
import { buildTestApp } from '../helpers/test-app.ts'
import { storedIdempotencyKey } from '../../src/outbox/enqueue/idempotency-key.ts'
import { BatchAcceptedSchema } from '../../src/http/message-schemas.ts'
import { AcceptedMessageSchema, BatchRequestSchema, MessageDetailSchema, MessageRequestSchema, ResultReadyRequestSchema } from '../../src/domain/message-schemas.ts'
import { silentLog } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

const ADMIN_TOKEN = 'test-admin-token-0123456789'
const API_TOKEN = 'test-api-token-0123456789'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const db = await createTestDatabase(t)
const app = await buildTestApp({
  config: { DATABASE_URL: db.url, ADMIN_TOKEN, API_TOKEN },
  database: db,
  logger: silentLog,
})
const serviceUrl = await app.listen({ host: '127.0.0.1', port: 0 })
t.teardown(() => app.close())

/** A client of the running service (or of `baseUrl`), fast retries, counting its fetch calls. */
function clientOf(options: Partial<SmsOutboxClientOptions> = {}) {
  const calls: { url: string; headers: Headers }[] = []
  const client = new SmsOutboxClient({
    baseUrl: serviceUrl,
    apiToken: API_TOKEN,
    adminToken: ADMIN_TOKEN,
    minRetryDelayMs: 5,
    maxRetryDelayMs: 50,
    fetch: (input, init) => {
      calls.push({ url: String(input), headers: new Headers(init?.headers) })
      return fetch(input, init)
    },
    ...options,
  })
  return { client, calls }
}

/** The error a call rejects with; fails the test if it resolves. */
async function failure(promise: Promise<unknown>): Promise<SmsOutboxError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof SmsOutboxError) return error
    throw error
  }
  throw new Error('expected the call to fail')
}

/** The answer conforms to the route schema its type comes from. */
function conforms(t: Test, schema: TSchema, value: unknown, name: string) {
  t.ok(Value.Check(schema, value), name, { errors: [...Value.Errors(schema, value)].slice(0, 3) })
}

type Step =
  | 'forward'
  /** Forward, let the service commit and answer, then reset the connection: a lost answer. */
  | 'forward-then-drop'
  /** Never answer. */
  | 'hang'
  | { status: number; headers?: Record<string, string>; body?: string }

const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length'])

/** An HTTP proxy in front of the service that plays `steps` (then forwards), recording every request. */
async function startProxy(t: Test, steps: Step[]) {
  const seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = []
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    seen.push({ method: request.method!, url: request.url!, headers: request.headers, body: body.toString() })
    const step = steps.shift() ?? 'forward'
    if (step === 'hang') return
    if (typeof step === 'object') {
      response.writeHead(step.status, step.headers).end(step.body ?? '')
      return
    }
    const headers = Object.entries(request.headers).filter(([name]) => !HOP_BY_HOP.has(name)) as [string, string][]
    const upstream = await fetch(new URL(request.url!, serviceUrl), {
      method: request.method,
      headers,
      body: body.length > 0 ? body : undefined,
    })
    const answer = await upstream.text()
    if (step === 'forward-then-drop') {
      request.socket.destroy()
      return
    }
    response
      .writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'application/json',
        'x-request-id': upstream.headers.get('x-request-id') ?? '',
      })
      .end(answer)
  })
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise((done) => server.close(done))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((ready) => probe.listen(0, '127.0.0.1', ready))
  const { port } = probe.address() as AddressInfo
  await new Promise((done) => probe.close(done))
  return port
}

const rowsWithKey = (key: string) =>
  db.sql('SELECT id FROM sms_outbox.messages WHERE idempotency_key = $1', [storedIdempotencyKey(key)]).then((rows) => rows.map((row) => row.id as string))

async function deadMessage(db: TestDatabase, client: SmsOutboxClient, to: string): Promise<string> {
  const { id } = await client.send({ to, text: 'will die' })
  await db.sql(
    `UPDATE sms_outbox.messages SET status = 'dead', attempts = 1, counted_attempts = 1, last_error_code = '1030',
            last_error = 'failed with 1030' WHERE id = $1`,
    [id],
  )
  await db.sql(
    `INSERT INTO sms_outbox.message_attempts (message_id, attempt, started_at, finished_at, outcome, error_code, http_status)
     VALUES ($1, 1, now(), now(), 'permanent', '1030', 400)`,
    [id],
  )
  return id
}

t.test('send: 202, created, committed; the default Idempotency-Key is a UUID; get reads it back', async (t) => {
  const { client, calls } = clientOf()
  const sent = await client.send({ to: '010-5550-0101', text: '주문하신 상품이 발송되었습니다.', metadata: { orderId: 7 } })
  t.match(sent, { created: true, status: 'pending', to: '+82 10-****-0101', type: 'SMS' })
  conforms(t, AcceptedMessageSchema, { ...sent, created: undefined }, 'the answer is an AcceptedMessage')
  t.equal(calls.length, 1)
  const [row] = await db.sql('SELECT recipient, idempotency_key FROM sms_outbox.messages WHERE id = $1', [sent.id])
  t.equal(row.recipient, '+821055500101')
  const generated = calls[0].headers.get('idempotency-key')
  t.match(generated, UUID, 'a generated key')
  t.equal(row.idempotency_key, storedIdempotencyKey(generated!), 'stored as its hash')
  t.equal(calls[0].headers.get('authorization'), `Bearer ${API_TOKEN}`)

  const detail = await client.get(sent.id)
  t.match(detail, { id: sent.id, status: 'pending', text: '주문하신 상품이 발송되었습니다.', metadata: { orderId: 7 }, attempts: [] })
  conforms(t, MessageDetailSchema, detail, 'the detail is a MessageDetail')

  const missing = await failure(client.get('6c1f6f8e-4a39-4b8e-9a57-3f1c2b7d9e10'))
  t.match(missing, { statusCode: 404, code: 'MESSAGE_NOT_FOUND', attempts: 1 })
})

t.test('send with an explicit key: the same body is the same message (created false); another body is a 409', async (t) => {
  const { client } = clientOf()
  const message = { to: '+821055500102', text: 'order 9041 shipped' }
  const first = await client.send(message, { idempotencyKey: 'order-9041-shipped' })
  const again = await client.send(message, { idempotencyKey: 'order-9041-shipped' })
  t.equal(first.created, true)
  t.equal(again.created, false)
  t.equal(again.id, first.id)
  t.same(await rowsWithKey('order-9041-shipped'), [first.id])

  const conflict = await failure(client.send({ ...message, text: 'order 9041 canceled' }, { idempotencyKey: 'order-9041-shipped' }))
  t.match(conflict, { statusCode: 409, code: 'IDEMPOTENCY_CONFLICT', attempts: 1, idempotencyKey: 'order-9041-shipped', retryable: false })
})

t.test('400: SmsOutboxError with the API code, message and request id, and no retry', async (t) => {
  const { client, calls } = clientOf({ retries: 3 })
  const error = await failure(client.send({ to: '02-312-3456', text: 'a landline' }))
  t.ok(error instanceof SmsOutboxError)
  t.match(error, { name: 'SmsOutboxError', statusCode: 400, code: 'INVALID_MESSAGE', error: 'Bad Request', message: /landline/, attempts: 1, retryable: false })
  t.equal(calls.length, 1, 'not retried')
  t.equal(error.requestId, calls[0].headers.get('x-request-id'), 'the request id the server echoed')
  t.match(error.idempotencyKey, UUID, 'the key, to retry later without a duplicate')

  // What the types forbid still gets the server's answer, not a client crash.
  const unknownField = await failure(client.send({ to: '+821055500103', text: 'hi', priority: 'high' } as never))
  t.match(unknownField, { statusCode: 400, code: 'VALIDATION_FAILED', message: /additional properties/ })
  t.equal(calls.length, 2)
})

t.test('422 for a suppressed number: the reason, and no retry', async (t) => {
  await db.sql(`INSERT INTO sms_outbox.suppressions (recipient, reason, error_code, provider) VALUES ('+821055500177', 'opted_out', '21610', 'twilio')`)
  const { client, calls } = clientOf({ retries: 3 })
  const error = await failure(client.send({ to: '010-5550-0177', text: 'after the STOP' }))
  t.match(error, { statusCode: 422, code: 'RECIPIENT_SUPPRESSED', reason: 'opted_out', retryable: false })
  t.equal(calls.length, 1, 'not retried')
  const other = await failure(client.send({ to: '02-312-3456', text: 'a landline' }))
  t.equal(other.reason, undefined, 'only a suppression has a reason')
})

t.test('401 with a wrong token; admin calls without adminToken fail before any request', async (t) => {
  const { client, calls } = clientOf({ apiToken: 'not-the-api-token-at-all', adminToken: undefined })
  const error = await failure(client.send({ to: '+821055500104', text: 'hi' }))
  t.match(error, { statusCode: 401, code: 'UNAUTHORIZED', attempts: 1 })
  await t.rejects(client.admin.stats(), TypeError)
  t.equal(calls.length, 1)
  const wrongAdmin = clientOf({ adminToken: 'not-the-admin-token-at-all' }).client
  t.match(await failure(wrongAdmin.admin.stats()), { statusCode: 401, code: 'UNAUTHORIZED' })
})

t.test('503 with Retry-After, then success: the same Idempotency-Key twice, one row', async (t) => {
  const proxy = await startProxy(t, [
    {
      status: 503,
      headers: { 'content-type': 'application/json', 'retry-after': '0' },
      body: JSON.stringify({ statusCode: 503, code: 'DATABASE_UNAVAILABLE', error: 'Service Unavailable', message: 'retry later' }),
    },
  ])
  const { client } = clientOf({ baseUrl: proxy.url })
  const sent = await client.send({ to: '+821055500105', text: 'after a 503' })
  t.equal(sent.created, true)
  t.equal(proxy.seen.length, 2)
  const keys = proxy.seen.map((request) => request.headers['idempotency-key'])
  t.match(keys[0], UUID)
  t.equal(keys[1], keys[0], 'the retry reuses the key')
  t.equal(proxy.seen[1].headers['x-request-id'], proxy.seen[0].headers['x-request-id'], 'and the request id')
  t.same(await rowsWithKey(keys[0] as string), [sent.id], 'one message')
})

t.test('a lost answer: send retries with the same key and makes one message; an admin retry is not replayed', async (t) => {
  const proxy = await startProxy(t, ['forward-then-drop'])
  const { client } = clientOf({ baseUrl: proxy.url })
  const sent = await client.send({ to: '+821055500106', text: 'answer lost once' })
  t.equal(proxy.seen.length, 2)
  const key = proxy.seen[0].headers['idempotency-key'] as string
  t.equal(proxy.seen[1].headers['idempotency-key'], key)
  t.same(await rowsWithKey(key), [sent.id], 'one message although the service was called twice')
  t.equal(sent.created, true, 'the 200 of the retry is our own first attempt')

  // An admin action may have happened when the answer is lost; replaying it would answer
  // differently, so the client reports the failure instead.
  const dead = await deadMessage(db, clientOf().client, '+821055500107')
  const dropping = await startProxy(t, ['forward-then-drop'])
  const admin = clientOf({ baseUrl: dropping.url }).client
  const error = await failure(admin.admin.retry(dead))
  t.match(error, { code: /^(UND_ERR_SOCKET|ECONNRESET)$/, attempts: 1, retryable: true })
  t.equal(error.statusCode, undefined)
  t.equal(dropping.seen.length, 1, 'not retried')
  t.match(await db.sql('SELECT status FROM sms_outbox.messages WHERE id = $1', [dead]), [{ status: 'pending' }], 'yet it was done')
})

t.test('Retry-After is honoured, up to maxRetryDelayMs', async (t) => {
  const busy = (seconds: string) => ({
    status: 503,
    headers: { 'content-type': 'application/json', 'retry-after': seconds },
    body: JSON.stringify({ statusCode: 503, code: 'OVERLOADED', error: 'Service Unavailable', message: 'retry later' }),
  })
  const proxy = await startProxy(t, [busy('1')])
  let started = performance.now()
  await clientOf({ baseUrl: proxy.url, maxRetryDelayMs: 5_000 }).client.send({ to: '+821055500113', text: 'x' })
  t.ok(performance.now() - started >= 990, 'waited the second it was asked to')

  const capped = await startProxy(t, [busy('3600'), busy('3600')])
  started = performance.now()
  const error = await failure(clientOf({ baseUrl: capped.url, retries: 1, maxRetryDelayMs: 100 }).client.admin.stats())
  t.ok(performance.now() - started < 900, 'an hour is capped')
  t.match(error, { statusCode: 503, code: 'OVERLOADED', retryAfterMs: 3_600_000, attempts: 2, retryable: true })
})

t.test('429 and 502 are retried; 500 and redirects are not', async (t) => {
  const proxy = await startProxy(t, [
    { status: 429, headers: { 'retry-after': '0' }, body: '' },
    { status: 502, headers: { 'content-type': 'text/html' }, body: '<html>bad gateway</html>' },
  ])
  const { client } = clientOf({ baseUrl: proxy.url })
  const sent = await client.send({ to: '+821055500108', text: 'third time' })
  t.equal(proxy.seen.length, 3)
  t.equal(new Set(proxy.seen.map((request) => request.headers['idempotency-key'])).size, 1)
  t.equal(sent.created, true)

  const broken = await startProxy(t, [
    {
      status: 500,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ statusCode: 500, code: 'INTERNAL_ERROR', error: 'Internal Server Error', message: 'internal error' }),
    },
  ])
  const error = await failure(clientOf({ baseUrl: broken.url }).client.send({ to: '+821055500109', text: 'x' }))
  t.match(error, { statusCode: 500, code: 'INTERNAL_ERROR', attempts: 1, retryable: false })
  t.equal(broken.seen.length, 1)

  const always502 = await startProxy(t, Array.from({ length: 3 }, () => ({ status: 502, body: 'bad gateway' })))
  const gateway = await failure(clientOf({ baseUrl: always502.url, retries: 2 }).client.get(sent.id))
  t.match(gateway, { statusCode: 502, code: 'HTTP_502', message: /bad gateway/, attempts: 3 })

  const moved = await startProxy(t, [{ status: 301, headers: { location: 'https://sms.example.test/v1/messages' } }])
  const redirect = await failure(clientOf({ baseUrl: moved.url }).client.send({ to: '+821055500114', text: 'x' }))
  t.match(redirect, { statusCode: 301, code: 'HTTP_301', message: /redirected to https:\/\/sms\.example\.test/, attempts: 1 })
  t.equal(moved.seen.length, 1, 'not followed')
})

t.test('a refused connection is retried `retries` times, then throws', async (t) => {
  const port = await closedPort()
  const { client, calls } = clientOf({ baseUrl: `http://127.0.0.1:${port}`, retries: 2 })
  const error = await failure(client.send({ to: '+821055500110', text: 'nobody home' }))
  t.match(error, { code: 'ECONNREFUSED', attempts: 3, retryable: true, message: /POST \/v1\/messages failed: ECONNREFUSED/ })
  t.equal(error.statusCode, undefined)
  t.equal(calls.length, 3)
  t.equal(new Set(calls.map((call) => call.headers.get('idempotency-key'))).size, 1)
  t.ok(error.cause, 'the fetch error is kept as the cause')
})

t.test('a timeout is retried like a lost answer; an abort stops retries and waits at once', async (t) => {
  const proxy = await startProxy(t, ['hang', 'hang'])
  const error = await failure(clientOf({ baseUrl: proxy.url, timeoutMs: 150, retries: 1 }).client.send({ to: '+821055500111', text: 'slow' }))
  t.match(error, { code: 'TIMEOUT', attempts: 2, retryable: true })
  t.equal(proxy.seen.length, 2)

  const port = await closedPort()
  const slow = clientOf({ baseUrl: `http://127.0.0.1:${port}`, retries: 10, minRetryDelayMs: 5_000, maxRetryDelayMs: 5_000 })
  const controller = new AbortController()
  const started = Date.now()
  setTimeout(() => controller.abort(new Error('caller gave up')), 100)
  await t.rejects(slow.client.send({ to: '+821055500112', text: 'x' }, { signal: controller.signal }), { message: 'caller gave up' })
  t.ok(Date.now() - started < 2_000, 'no 5 s wait')
  t.equal(slow.calls.length, 1)
})

t.test('sendBatch: a key per item unless given, one result per item in order', async (t) => {
  const { client } = clientOf()
  const results = await client.sendBatch([
    { to: '+821055500120', text: 'batch 0' },
    { to: '+821055500121', text: 'batch 1', idempotencyKey: 'batch-7-item-1' },
    { to: '+821055500122', text: 'batch 2' },
  ])
  conforms(t, BatchAcceptedSchema, { messages: results }, 'the answer is a BatchAccepted')
  t.same(results.map((result) => result.created), [true, true, true])
  const rows = await db.sql('SELECT id, body, idempotency_key FROM sms_outbox.messages WHERE id = ANY($1::uuid[])', [results.map((r) => r.id)])
  const byId = new Map(rows.map((row) => [row.id, row]))
  t.same(results.map((result) => byId.get(result.id)?.body), ['batch 0', 'batch 1', 'batch 2'])
  t.match(byId.get(results[0].id)?.idempotency_key, /^[0-9a-f]{64}$/, 'a generated key, stored as its hash')
  t.equal(byId.get(results[1].id)?.idempotency_key, storedIdempotencyKey('batch-7-item-1'))

  const replay = await client.sendBatch([{ to: '+821055500121', text: 'batch 1', idempotencyKey: 'batch-7-item-1' }])
  t.match(replay, [{ id: results[1].id, created: false }])
  const bad = await failure(client.sendBatch([{ to: '+821055500123', text: 'ok' }, { to: 'nope', text: 'x' }]))
  t.match(bad, { statusCode: 400, message: /^messages\/1\/to: / })
})

t.test('notifyResultReady: one message per jobId', async (t) => {
  const { client } = clientOf()
  const first = await client.notifyResultReady({ to: '010-5550-0130', jobId: 'job-4411' })
  const again = await client.notifyResultReady({ to: '010-5550-0130', jobId: 'job-4411' })
  t.match(first, { created: true, type: 'LMS', status: 'pending' })
  t.match(again, { created: false, id: first.id })
  const other = await failure(client.notifyResultReady({ to: '010-5550-0131', jobId: 'job-4411' }))
  t.match(other, { statusCode: 409, code: 'IDEMPOTENCY_CONFLICT' })
})

t.test('admin: pages through the async iterator, get, retry, cancel, bulk redrive, stats, providers', async (t) => {
  const { client, calls } = clientOf({ actor: 'ops-bot' })
  const to = '+821055500140'
  const ids: string[] = []
  for (let i = 0; i < 5; i++) ids.push((await client.send({ to, text: `admin ${i}` })).id)

  const pages = []
  for await (const page of client.admin.pages({ to, limit: 2 })) {
    conforms(t, MessagePageSchema, page, 'a MessagePage')
    pages.push(page)
  }
  t.same(pages.map((page) => page.messages.length), [2, 2, 1])
  t.equal(pages.at(-1)?.nextCursor, null)
  t.same(pages.flatMap((page) => page.messages.map((m) => m.id)), [...ids].reverse(), 'newest first, each once')
  const all = []
  for await (const message of client.admin.messages({ to, limit: 3 })) all.push(message.id)
  t.same(all, [...ids].reverse())
  t.ok(calls.some((call) => new URL(call.url).searchParams.get('cursor')), 'nextCursor went back as cursor')

  const dead = await deadMessage(db, client, to)
  const deadOnly = await client.admin.list({ to, status: ['dead', 'expired'] })
  t.same(deadOnly.messages.map((m) => m.id), [dead])
  t.equal(new URL(calls.at(-1)!.url).searchParams.get('status'), 'dead,expired')

  const dry = await client.admin.bulkRetry({ to, status: ['dead'], dryRun: true })
  t.same(dry, { matched: 1, retried: 0, dryRun: true, byStatus: { dead: 1 }, byErrorCode: [{ errorCode: '1030', count: 1 }] })
  conforms(t, BulkRetryResultSchema, dry, 'a BulkRetryResult')

  const retried = await client.admin.retry(dead)
  conforms(t, MessageActionResultSchema, retried, 'a MessageActionResult')
  t.match(retried, { result: 'retried', message: { id: dead, status: 'pending' } })
  t.match(await client.admin.retry(dead, { actor: 'alice' }), { result: 'unchanged' })
  const detail = await client.admin.get(dead)
  conforms(t, AdminMessageDetailSchema, detail, 'an AdminMessageDetail')
  t.match(detail, { to: '+821055500140', actions: [{ actor: 'ops-bot', action: 'retry' }] })

  t.match(await client.admin.cancel(ids[0]), { result: 'canceled', message: { id: ids[0], status: 'canceled' } })
  t.match(await failure(client.admin.cancel('6c1f6f8e-4a39-4b8e-9a57-3f1c2b7d9e10')), { statusCode: 404, code: 'MESSAGE_NOT_FOUND' })

  const stats = await client.admin.stats()
  conforms(t, StatsSchema, stats, 'Stats')
  t.ok(stats.byStatus.pending >= 5)
  t.equal(stats.byStatus.canceled, 1)

  const providers = await client.admin.providers()
  conforms(t, ProvidersSchema, providers, 'Providers')
  t.match(providers, { active: 'console', paused: [], providers: [{ provider: 'console', state: 'sending' }] })
  t.same(await client.admin.resumeProvider('console'), { provider: 'console', resumed: false })

  const invalid = await failure(client.admin.list({ to: '12345' }))
  t.match(invalid, { statusCode: 400, code: 'INVALID_FILTER' })
})

t.test('constructor options are checked', async (t) => {
  t.throws(() => new SmsOutboxClient({ baseUrl: 'ftp://127.0.0.1' }), TypeError)
  t.throws(() => new SmsOutboxClient({ baseUrl: serviceUrl, retries: -1 }), TypeError)
  t.throws(() => new SmsOutboxClient({ baseUrl: serviceUrl, timeoutMs: 0 }), TypeError)
  // A base with a path keeps it: the service behind a prefix.
  const proxied = new SmsOutboxClient({ baseUrl: `${serviceUrl}/prefix`, apiToken: API_TOKEN, retries: 0 })
  t.match(await failure(proxied.get('6c1f6f8e-4a39-4b8e-9a57-3f1c2b7d9e10')), { statusCode: 404, code: 'ROUTE_NOT_FOUND', message: /\/prefix\/v1\/messages/ })
})

// ---------------------------------------------------------------------------------------
// Compile time: `npm test` runs `tsc --noEmit` first, and this function is type-checked
// (never run). The client's parameter and answer types are the route schemas' own, so a
// schema change that the client does not follow fails the build here, not at a caller.

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const same = <A, B>(proof: Equal<A, B>) => proof
type Client = SmsOutboxClient
type Admin = Client['admin']

export async function typeContract(client: SmsOutboxClient): Promise<void> {
  same<Parameters<Client['send']>[0], Static<typeof MessageRequestSchema>>(true)
  same<Parameters<Client['sendBatch']>[0][number], Static<typeof BatchRequestSchema>['messages'][number]>(true)
  same<Parameters<Client['notifyResultReady']>[0], Static<typeof ResultReadyRequestSchema>>(true)
  same<Omit<Awaited<ReturnType<Client['send']>>, 'created'>, Static<typeof AcceptedMessageSchema>>(true)
  same<Awaited<ReturnType<Client['sendBatch']>>, Static<typeof BatchAcceptedSchema>['messages']>(true)
  same<Awaited<ReturnType<Client['get']>>, Static<typeof MessageDetailSchema>>(true)
  same<Awaited<ReturnType<Admin['list']>>, Static<typeof MessagePageSchema>>(true)
  same<Awaited<ReturnType<Admin['get']>>, Static<typeof AdminMessageDetailSchema>>(true)
  same<Awaited<ReturnType<Admin['retry']>>, Static<typeof MessageActionResultSchema>>(true)
  same<Awaited<ReturnType<Admin['stats']>>, Static<typeof StatsSchema>>(true)
  same<Awaited<ReturnType<Admin['providers']>>, Static<typeof ProvidersSchema>>(true)
  same<BulkRetryRequest, Static<typeof BulkRetryRequestSchema>>(true)
  same<Parameters<Admin['resumeProvider']>[0], Static<typeof ProviderParamsSchema>['provider']>(true)
  same<NonNullable<AdminListFilter['to']>, NonNullable<Static<typeof AdminListQuerySchema>['to']>>(true)

  // @ts-expect-error a field the schema does not have
  await client.send({ to: '+821055500150', text: 'hi', priority: 'high' })
  // @ts-expect-error maxRetries is an integer, not a string
  await client.send({ to: '+821055500150', text: 'hi', maxRetries: '3' })
  // @ts-expect-error text is required
  await client.send({ to: '+821055500150' })
  // @ts-expect-error a batch item's key is a string
  await client.sendBatch([{ to: '+821055500150', text: 'hi', idempotencyKey: 7 }])
  // @ts-expect-error jobId is required
  await client.notifyResultReady({ to: '+821055500150' })
  // @ts-expect-error not a status
  await client.admin.list({ status: ['lost'] })
  // @ts-expect-error dryRun must be said
  await client.admin.bulkRetry({ status: ['dead'] })
  // @ts-expect-error only dead and expired messages are redriven
  await client.admin.bulkRetry({ status: ['sent'], dryRun: true })
  // @ts-expect-error not a provider
  await client.admin.resumeProvider('sendgrid')
  const sent = await client.send({ to: '+821055500150', text: 'hi' })
  const status: MessageStatus = sent.status
  // @ts-expect-error the answer has no such field
  void sent.priority
  // @ts-expect-error `to` is masked and nullable (erased), not always a string
  const to: string = sent.to
  void [status, to]
}
