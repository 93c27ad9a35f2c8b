import fc from 'fast-check'
import { pino } from 'pino'
import { Agent, request } from 'undici'
import { connectDatabase } from '../../../src/db/database.ts'
import { buildTestApp } from '../../helpers/test-app.ts'
import { ADMIN_TOKEN, type Scenario } from '../scenario.ts'

/** A request that must be refused: `body` is raw text, sent as `contentType`. */
interface BadRequest {
  method: 'POST' | 'GET'
  url: string
  body?: string
  contentType?: string
  headers?: Record<string, string>
}

const valid = { to: '010-1234-5678', text: '안녕하세요' }

/** One defect each; every one of them alone makes the body invalid. */
const defects: fc.Arbitrary<[string, (body: Record<string, unknown>) => Record<string, unknown>]>[] = [
  fc.constantFrom('to', 'text').map((f) => [`missing ${f}`, (b) => ({ ...b, [f]: undefined })]),
  fc.tuple(fc.constantFrom('to', 'text', 'sendAt', 'expiresAt', 'maxRetries', 'metadata'), fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.double())).map(
    ([f, v]) => [`${f} of the wrong type`, (b) => ({ ...b, [f]: f === 'maxRetries' && Number.isInteger(v) ? (v as number) + 100 : f === 'metadata' && v === null ? 'x' : typeof v === 'string' ? 7 : v })],
  ),
  fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !['to', 'text', 'sendAt', 'expiresAt', 'maxRetries', 'metadata'].includes(k)).map((k) => [`unknown field ${k}`, (b) => ({ ...b, [k]: 1 })]),
  fc.oneof(fc.constant(''), fc.constant('12345'), fc.constant('+1'), fc.constant('010-12'), fc.string({ maxLength: 40 }).filter((s) => !/\d{7}/.test(s))).map((to) => ['bad number', (b) => ({ ...b, to })]),
  fc.oneof(fc.integer({ min: 21, max: 1e9 }), fc.integer({ min: -1e9, max: -1 }), fc.constant(1.5), fc.constant(1e300)).map((n) => ['bad maxRetries', (b) => ({ ...b, maxRetries: n })]),
  fc.integer({ min: 0, max: 31 }).filter((c) => c !== 9 && c !== 10 && c !== 13).map((c) => [`control character ${c}`, (b) => ({ ...b, text: `a${String.fromCharCode(c)}b` })]),
  fc.constantFrom('😀', '👍🏽', '🇰🇷', '\u{1F600}x', '\ud800', 'a\udc00b').map((e) => ['emoji or lone surrogate in text', (b) => ({ ...b, text: `hi ${e}` })]),
  fc.integer({ min: 2_001, max: 3_000 }).map((n) => ['text too long', (b) => ({ ...b, text: 'a'.repeat(n) })]),
  fc.constantFrom('', ' ', 'tomorrow', '2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-06-30T24:00:01Z', '0000-01-01T00:00:00Z', '2026-06-30T23:59:60Z',
    '1999-01-01', '2026-01-01T00:00:00', '+275760-09-13T00:00:00Z', '99999-01-01T00:00:00Z', '0001-01-01T00:00:00+01:00').chain((d) =>
    fc.constantFrom('sendAt', 'expiresAt').map((f) => [`bad ${f} ${d}`, (b: Record<string, unknown>) => ({ ...b, [f]: d })] as [string, (b: Record<string, unknown>) => Record<string, unknown>]),
  ),
  fc.constant(['expiresAt in the past', (b) => ({ ...b, expiresAt: '2001-01-01T00:00:00Z' })]),
  fc.oneof(fc.constant({ a: '\ud800' }), fc.constant({ '\udfff': 1 }), fc.constant({ a: { b: '\u0000' } }), fc.constant({ big: 'x'.repeat(5_000) }),
    fc.constant(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]))), fc.constant({ ['k'.repeat(65)]: 1 }), fc.constant([1, 2])).map((m) => ['bad metadata', (b) => ({ ...b, metadata: m })]),
]

const messageBodies = fc.tuple(fc.array(fc.oneof(...defects), { minLength: 1, maxLength: 3 }), fc.boolean()).map(([picked, asBatch]) => {
  let body: Record<string, unknown> = { ...valid }
  for (const [, apply] of picked) body = apply(body)
  body = JSON.parse(JSON.stringify(body)) as Record<string, unknown> // drops the undefined fields
  const request: BadRequest = asBatch
    ? { method: 'POST', url: '/v1/messages/batch', body: JSON.stringify({ messages: [valid, body] }), contentType: 'application/json' }
    : { method: 'POST', url: '/v1/messages', body: JSON.stringify(body), contentType: 'application/json' }
  return { request, defects: picked.map(([name]) => name) }
})

/** Whole requests that are wrong before any field is read. */
const malformed: fc.Arbitrary<BadRequest> = fc.oneof(
  fc.constantFrom(
    '{"to":"010-1234-5678","text":"x","__proto__":{"admin":true}}',
    '{"to":"010-1234-5678","text":"x","constructor":{"prototype":{"x":1}}}',
    '{"to":"010-1234-5678","text":"x","metadata":{"__proto__":{"x":1}}}',
    '{"to":', 'null', '[]', '"text"', '1e999', '{"to":"010-1234-5678","text":"x"}}', '\u0000', '',
    // Nested 30,000 deep: within the 64 KiB body limit, past any recursive walk's stack.
    `{"to":"010-1234-5678","text":"x","metadata":{"a":${'['.repeat(30_000)}${']'.repeat(30_000)}}}`,
  ).map((body) => ({ method: 'POST' as const, url: '/v1/messages', body, contentType: 'application/json' })),
  fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonp').map((contentType) => ({
    method: 'POST' as const, url: '/v1/messages', body: JSON.stringify(valid), contentType,
  })),
  fc.constant({ method: 'POST' as const, url: '/v1/messages', body: JSON.stringify({ ...valid, text: 'x'.repeat(1_000_000) }), contentType: 'application/json' }),
  fc.constant({ method: 'POST' as const, url: '/v1/messages/batch', body: JSON.stringify({ messages: Array.from({ length: 1_001 }, () => valid) }), contentType: 'application/json' }),
  // Keys that stay invalid once HTTP trims them: inner spaces, non-ASCII, too long.
  fc.oneof(fc.string({ maxLength: 20 }).map((s) => `a ${s} b`), fc.constantFrom('é', '키', 'x'.repeat(256))).map((key) => ({
    method: 'POST' as const, url: '/v1/messages', body: JSON.stringify(valid), contentType: 'application/json', headers: { 'idempotency-key': key },
  })),
  fc.oneof(fc.constant(''), fc.string({ maxLength: 64 }), fc.constant('x'.repeat(300)), fc.constant('a b'), fc.constant('../etc')).map((jobId) => ({
    method: 'POST' as const, url: '/v1/notifications/result-ready', body: JSON.stringify({ to: valid.to, jobId }), contentType: 'application/json',
  })).filter((r) => !/"jobId":"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"/.test(r.body)),
  fc.string({ maxLength: 60 }).map((id) => ({ method: 'GET' as const, url: `/v1/messages/${encodeURIComponent(id)}` })),
  fc.string({ maxLength: 40 }).map((id) => ({ method: 'POST' as const, url: `/v1/admin/messages/${encodeURIComponent(id)}/retry`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })),
)

/** Admin list queries: any answer but a 5xx, and nothing written. */
const adminQueries: fc.Arbitrary<BadRequest> = fc
  .record({
    status: fc.option(fc.oneof(fc.constantFrom('dead', 'dead,expired', 'bogus', ''), fc.string({ maxLength: 20 })), { nil: undefined }),
    to: fc.option(fc.oneof(fc.constant('010-1234-5678'), fc.string({ maxLength: 45 })), { nil: undefined }),
    errorCode: fc.option(fc.oneof(fc.constantFrom('http_503', '\u0000', 'a\u0000b', '\ud800', "'; drop table messages; --"), fc.string({ maxLength: 101 })), { nil: undefined }),
    since: fc.option(fc.constantFrom('2026-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '2026-06-30T23:59:60Z', 'yesterday', '99999-01-01T00:00:00Z'), { nil: undefined }),
    cursor: fc.option(fc.oneof(fc.string({ maxLength: 40 }), fc.constant(Buffer.from('["2026-01-01 00:00:00+00","x"]').toString('base64url')), fc.constant(Buffer.from('["0000-01-01 00:00:00+00","8b1e6f6e-0000-4000-8000-000000000000"]').toString('base64url'))), { nil: undefined }),
    limit: fc.option(fc.oneof(fc.integer({ min: -5, max: 500 }), fc.constant('abc')), { nil: undefined }),
  })
  .map((query) => {
    const search = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)]))
    return { method: 'GET' as const, url: `/v1/admin/messages?${search}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }
  })

const REFUSALS = new Set([400, 401, 404, 409, 413, 415, 422])
/** The single-message body limit (src/http/app.ts); the batch route allows 4 MiB. */
const BODY_LIMIT = 64 * 1024
const STACK_TRACE = /\n\s+at |node_modules|\.ts:\d+|\.js:\d+/

/**
 * 23. Input fuzz. fast-check requests with at least one defect each (wrong types, missing
 * fields, bad numbers and dates, control characters, emoji, lone surrogates, 1 MB bodies,
 * wrong content types, `__proto__` keys, bad idempotency keys) through `inject`, then a
 * sample of the same over real HTTP to a real API process. Only
 * 400/401/404/409/413/415/422; no 5xx; no row; no stack trace in any answer. Admin list
 * queries with junk filters may answer 200, but never a 5xx.
 */
export const inputFuzz: Scenario = {
  id: 23,
  name: 'input fuzz',
  quick: true,
  timeoutMs: 120_000,
  async run(ctx) {
    const runs = ctx.quick ? 300 : 3_000
    const realRequests = ctx.quick ? 1_000 : 10_000
    const database = connectDatabase(ctx.databaseUrl, { poolSize: 4 })
    ctx.onCleanup(() => database.close())
    const app = await buildTestApp({ config: { DATABASE_URL: ctx.databaseUrl, ADMIN_TOKEN }, database, logger: pino({ level: 'silent' }) })
    ctx.onCleanup(() => app.close())

    const statuses: Record<string, number> = {}
    const failures: unknown[] = []
    const judge = (channel: string, req: BadRequest, status: number, text: string, refusalOnly: boolean, defects?: string[]) => {
      statuses[status] = (statuses[status] ?? 0) + 1
      const bad = status >= 500 || (refusalOnly && !REFUSALS.has(status)) || STACK_TRACE.test(text)
      if (bad && failures.length < 20) failures.push({ channel, status, url: req.url, contentType: req.contentType, headers: req.headers, defects, body: req.body?.slice(0, 160), answer: text.slice(0, 200) })
      return !bad
    }
    const inject = async (req: BadRequest) => {
      const response = await app.inject({
        method: req.method,
        url: req.url,
        payload: req.body,
        headers: { ...(req.contentType && { 'content-type': req.contentType }), ...req.headers },
      })
      return { status: response.statusCode, text: response.body }
    }

    await fc.assert(
      fc.asyncProperty(messageBodies, async ({ request: req, defects: names }) => {
        const { status, text } = await inject(req)
        judge('inject', req, status, text, true, names)
      }),
      { numRuns: runs },
    )
    await fc.assert(
      fc.asyncProperty(malformed, async (req) => {
        const { status, text } = await inject(req)
        judge('inject', req, status, text, true)
      }),
      { numRuns: runs / 3 },
    )
    await fc.assert(
      fc.asyncProperty(adminQueries, async (req) => {
        const { status, text } = await inject(req)
        judge('inject', req, status, text, false)
      }),
      { numRuns: runs / 3 },
    )

    // The same, over real sockets, to a real API process.
    const api = await ctx.driver.start('api', ctx.serviceEnv({ ROLE: 'api' }))
    const agent = new Agent({ connections: 32 })
    ctx.onCleanup(() => agent.close())
    // HTTP/1.1 header values are bytes: a value beyond Latin-1 cannot be sent as such (undici
    // hangs on one), so those stay on the inject channel.
    const sendable = (req: BadRequest) => Object.values(req.headers ?? {}).every((value) => /^[\x00-\xff]*$/.test(value))
    const samples = fc.sample(fc.oneof({ arbitrary: messageBodies.map((m) => m.request), weight: 3 }, { arbitrary: malformed, weight: 1 }, { arbitrary: adminQueries, weight: 1 }).filter(sendable), realRequests)
    let next = 0
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < samples.length) {
          const req = samples[next++]
          try {
            const response = await request(`${api.url}${req.url}`, {
              method: req.method,
              dispatcher: agent,
              body: req.body,
              headers: { ...(req.contentType && { 'content-type': req.contentType }), ...req.headers },
              // An answer that never comes is a failure too, not a hung run.
              signal: AbortSignal.timeout(10_000),
            })
            judge('http', req, response.statusCode, await response.body.text(), !req.url.startsWith('/v1/admin/messages?'))
          } catch (error) {
            const code = (error as { code?: string }).code
            // A header undici itself refuses to send is not a request the service saw.
            if (code === 'UND_ERR_INVALID_ARG') continue
            // Over the body limit, the server answers 413 and closes while a large body is
            // still being written: the client may see the close before the answer.
            if (Buffer.byteLength(req.body ?? '') > BODY_LIMIT && ['EPIPE', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(code ?? '')) {
              statuses['413 (closed)'] = (statuses['413 (closed)'] ?? 0) + 1
              continue
            }
            judge('http', req, 599, `${code} ${String(error)}`, true)
          }
        }
      }),
    )
    const { rows: [{ n }] } = await ctx.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM sms_outbox.messages`)
    ctx.expect('only refusals, no 5xx, no stack traces', failures.length === 0, failures)
    ctx.expect('no row created', n === 0, n)
    return { inject_runs: runs + Math.floor(runs / 3) * 2, http_requests: realRequests, statuses, rows: n }
  },
}
