import type { FastifyInstance, InjectOptions } from 'fastify'
import { pino } from 'pino'
import t from 'tap'
import { ConfigError, type Config } from '../../src/config.ts'
import { connectDatabase } from '../../src/db/database.ts'
import { buildTestApp } from '../helpers/test-app.ts'
import { enqueue, silentLog } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

const ADMIN_TOKEN = 'a-test-admin-token-0123456789'
const SESSION_COOKIE = 'sms_outbox_admin'
const FROM_THE_PAGE = { 'sec-fetch-site': 'same-origin' }

type Teardown = { teardown(fn: () => unknown): void }

/** The app over `db`, with a log the test can read. */
async function adminApp(t: Teardown, db: TestDatabase, config: Partial<Config> = {}) {
  const lines: Record<string, any>[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  const app = await buildTestApp({ config: { DATABASE_URL: db.url, ADMIN_TOKEN, ...config }, database: db, logger })
  t.teardown(() => app.close())
  return { app, lines }
}

const loginWith = (app: FastifyInstance, token: string, options: Partial<InjectOptions> = {}) =>
  app.inject({
    method: 'POST',
    url: '/admin/login',
    ...options,
    payload: `token=${encodeURIComponent(token)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...options.headers },
  })

/** Logs in and returns the cookies to send. */
async function signIn(app: FastifyInstance): Promise<Record<string, string>> {
  const login = await loginWith(app, ADMIN_TOKEN)
  if (login.statusCode !== 303) throw new Error(`login answered ${login.statusCode}`)
  return { [SESSION_COOKIE]: login.cookies[0].value }
}

const statusOf = async (db: TestDatabase, id: string) =>
  (await db.sql('SELECT status FROM sms_outbox.messages WHERE id = $1', [id]))[0].status as string

t.test('sessions are the server’s: an expired one gets 401, expired rows go at the next login', async (t) => {
  const db = await createTestDatabase(t)
  const { app } = await adminApp(t, db)
  const cookies = await signIn(app)
  t.equal((await app.inject({ url: '/v1/admin/stats', cookies })).statusCode, 200)
  const [row] = await db.sql(`SELECT round(extract(epoch FROM expires_at - now()))::int AS left_s FROM sms_outbox.admin_sessions`)
  t.ok(row.left_s > 43_190 && row.left_s <= 43_200, `expires in 12 h by the database clock (${row.left_s} s)`)

  // The browser would still send it: the server decides.
  await db.sql(`UPDATE sms_outbox.admin_sessions SET expires_at = now() - interval '1 second'`)
  t.equal((await app.inject({ url: '/v1/admin/stats', cookies })).statusCode, 401, 'expired: the API refuses it')
  t.equal((await app.inject({ url: '/admin', cookies })).statusCode, 401, 'and the page shows the login form')

  const forged = await app.inject({ url: '/v1/admin/stats', cookies: { [SESSION_COOKIE]: 'A'.repeat(43) } })
  t.equal(forged.statusCode, 401, 'a made-up id of the right shape')

  await signIn(app)
  t.same(await db.sql(`SELECT count(*)::int AS n FROM sms_outbox.admin_sessions WHERE expires_at <= now()`), [{ n: 0 }], 'the login deleted the expired row')
  t.same(await db.sql(`SELECT count(*)::int AS n FROM sms_outbox.admin_sessions`), [{ n: 1 }])
})

t.test('a new ADMIN_TOKEN ends every session made under the old one', async (t) => {
  const db = await createTestDatabase(t)
  const { app: before } = await adminApp(t, db)
  const cookies = await signIn(before)
  t.equal((await before.inject({ url: '/v1/admin/stats', cookies })).statusCode, 200)
  // The restart after the rotation: same database, new token.
  const { app: after } = await adminApp(t, db, { ADMIN_TOKEN: 'the-rotated-admin-token-987654' })
  t.equal((await after.inject({ url: '/v1/admin/stats', cookies })).statusCode, 401)
  t.equal((await after.inject({ url: '/admin', cookies })).statusCode, 401)
})

t.test('a change made with the cookie must come from the page, as JSON or no body; a bearer call is unaffected', async (t) => {
  const db = await createTestDatabase(t)
  const { app, lines } = await adminApp(t, db)
  const cookies = await signIn(app)
  const id = await enqueue(db)
  const cancel = (headers: Record<string, string>, payload?: string) =>
    app.inject({ method: 'POST', url: `/v1/admin/messages/${id}/cancel`, cookies, headers, payload })

  // The reported attack: a page on another origin of the same site posts text/plain.
  const sameSite = await cancel({ 'sec-fetch-site': 'same-site', 'content-type': 'text/plain' }, 'x')
  t.equal(sameSite.statusCode, 403)
  t.match(sameSite.json(), { code: 'FORBIDDEN', message: /must come from the admin page/ })
  for (const [why, headers] of [
    ['cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['no Sec-Fetch-Site and no Origin', {}],
    ['no Sec-Fetch-Site, another Origin', { host: 'sms.example.com', origin: 'http://evil.example.com' }],
    ['no Sec-Fetch-Site, a sibling origin', { host: 'sms.example.com', origin: 'http://blog.example.com' }],
  ] as const) {
    t.equal((await cancel(headers)).statusCode, 403, why)
  }
  const plainFromPage = await cancel({ ...FROM_THE_PAGE, 'content-type': 'text/plain' }, 'x')
  t.equal(plainFromPage.statusCode, 403, 'text/plain even from the page')
  t.match(plainFromPage.json(), { message: /JSON body or none/ })
  const formFromPage = await cancel({ ...FROM_THE_PAGE, 'content-type': 'application/x-www-form-urlencoded' }, 'a=b')
  t.equal(formFromPage.statusCode, 403)
  t.equal(await statusOf(db, id), 'pending', 'nothing was canceled')
  t.ok(lines.some((line) => line.msg === 'admin session cookie refused: not from the admin page' && line.clientAddress === '127.0.0.1'))

  t.equal((await app.inject({ url: '/v1/admin/stats', cookies, headers: { 'sec-fetch-site': 'cross-site' } })).statusCode, 200, 'reading is no change')
  const fromOldBrowser = await cancel({ host: 'sms.example.com', origin: 'http://sms.example.com' })
  t.equal(fromOldBrowser.statusCode, 200, 'no Sec-Fetch-Site, but the Origin is this server’s')
  t.equal(await statusOf(db, id), 'canceled')

  const other = await enqueue(db)
  const fromPage = await app.inject({
    method: 'POST',
    url: `/v1/admin/messages/retry`,
    cookies,
    headers: FROM_THE_PAGE,
    payload: { status: ['dead'], dryRun: true },
  })
  t.equal(fromPage.statusCode, 200, 'JSON from the page')
  const bearer = await app.inject({
    method: 'POST',
    url: `/v1/admin/messages/${other}/cancel`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' },
    payload: 'x',
  })
  t.equal(bearer.statusCode, 200, 'a bearer call carries no ambient credential: no origin rule')
  t.equal(await statusOf(db, other), 'canceled')

  const crossLogout = await app.inject({ method: 'POST', url: '/admin/logout', cookies, headers: { 'sec-fetch-site': 'same-site' } })
  t.equal(crossLogout.statusCode, 403, 'another origin cannot log the admin out')
  t.equal((await app.inject({ url: '/v1/admin/stats', cookies })).statusCode, 200, 'the session is still there')
})

t.test('login: 10 failures a minute per client address, then 429 with Retry-After; each refusal logged with the address only', async (t) => {
  const db = await createTestDatabase(t)
  const { app, lines } = await adminApp(t, db)
  const tried = Array.from({ length: 10 }, (_, i) => `wrong-token-number-${i}-xyz`)
  for (const token of tried) t.equal((await loginWith(app, token)).statusCode, 401)

  for (const token of ['wrong-token-number-10-xyz', ADMIN_TOKEN]) {
    const limited = await loginWith(app, token)
    t.equal(limited.statusCode, 429, token === ADMIN_TOKEN ? 'even the right token: it is not even checked' : 'the 11th failure')
    const retryAfter = Number(limited.headers['retry-after'])
    t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`)
    t.match(limited.body, /Too many failed logins; try again in \d+ seconds/)
    t.equal(limited.headers['set-cookie'], undefined)
  }
  t.equal((await loginWith(app, ADMIN_TOKEN, { remoteAddress: '10.1.2.3' })).statusCode, 303, 'another address is not locked out')

  const refusals = lines.filter((line) => /^admin page login refused/.test(line.msg))
  t.equal(refusals.length, 12, 'every refused login is logged')
  t.same(new Set(refusals.map((line) => line.clientAddress)), new Set(['127.0.0.1']))
  t.equal(refusals.filter((line) => /too many failed logins/.test(line.msg)).length, 2)
  const log = JSON.stringify(lines)
  for (const token of [...tried, 'wrong-token-number-10-xyz', ADMIN_TOKEN]) t.notMatch(log, token, 'never the attempted token')

  // A minute later (by the database clock) the address may try again.
  await db.sql(`UPDATE sms_outbox.admin_login_failures SET failed_at = failed_at - interval '61 seconds'`)
  t.equal((await loginWith(app, ADMIN_TOKEN)).statusCode, 303)
  t.same(await db.sql(`SELECT count(*)::int AS n FROM sms_outbox.admin_login_failures`), [{ n: 0 }], 'old rows pruned; a success is no failure')
})

t.test('the limit holds for a burst of concurrent attempts, and across API processes', async (t) => {
  const db = await createTestDatabase(t)
  const { app: first } = await adminApp(t, db)
  const { app: second } = await adminApp(t, db)
  const burst = await Promise.all(
    Array.from({ length: 20 }, (_, i) => loginWith(i % 2 ? first : second, `wrong-token-in-a-burst-${i}`)),
  )
  const codes = burst.map((response) => response.statusCode)
  t.ok(codes.filter((code) => code === 401).length <= 10, `at most 10 tokens checked: ${codes.join(' ')}`)
  t.equal(codes.filter((code) => code === 401 || code === 429).length, 20)

  await db.sql('DELETE FROM sms_outbox.admin_login_failures')
  for (let i = 0; i < 5; i++) t.equal((await loginWith(first, `wrong-first-${i}-token`)).statusCode, 401)
  for (let i = 0; i < 5; i++) t.equal((await loginWith(second, `wrong-second-${i}-token`)).statusCode, 401)
  t.equal((await loginWith(first, 'wrong-one-more-token')).statusCode, 429, 'the two processes share one count')
})

t.test('TRUST_PROXY: only a trusted proxy’s X-Forwarded-Proto makes the cookie Secure, and its X-Forwarded-For the client address', async (t) => {
  const db = await createTestDatabase(t)
  const forwarded = (client: string) => ({ headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': client } })

  const { app: direct, lines: directLines } = await adminApp(t, db)
  const plain = await loginWith(direct, ADMIN_TOKEN, forwarded('203.0.113.7'))
  t.equal(plain.statusCode, 303)
  t.notMatch(plain.headers['set-cookie'], /Secure/, 'untrusted X-Forwarded-Proto is ignored')
  await loginWith(direct, 'not-the-admin-token-000', forwarded('203.0.113.7'))
  t.match(directLines.find((line) => /wrong token/.test(line.msg)), { clientAddress: '127.0.0.1' }, 'and X-Forwarded-For')

  await db.sql('DELETE FROM sms_outbox.admin_login_failures')
  const { app: proxied, lines } = await adminApp(t, db, { TRUST_PROXY: '127.0.0.1' })
  const secure = await loginWith(proxied, ADMIN_TOKEN, forwarded('203.0.113.7'))
  t.equal(secure.statusCode, 303)
  t.match(secure.cookies, [{ name: SESSION_COOKIE, secure: true, httpOnly: true, sameSite: 'Strict' }])
  const cookies = { [SESSION_COOKIE]: secure.cookies[0].value }
  const logout = await proxied.inject({ method: 'POST', url: '/admin/logout', cookies, ...forwarded('203.0.113.7'), headers: { ...forwarded('203.0.113.7').headers, ...FROM_THE_PAGE } })
  t.match(logout.cookies, [{ name: SESSION_COOKIE, value: '', secure: true }])

  for (let i = 0; i < 10; i++) await loginWith(proxied, `wrong-token-via-proxy-${i}`, forwarded('203.0.113.7'))
  t.equal((await loginWith(proxied, ADMIN_TOKEN, forwarded('203.0.113.7'))).statusCode, 429, 'the forwarded client is limited')
  t.equal((await loginWith(proxied, ADMIN_TOKEN, forwarded('203.0.113.8'))).statusCode, 303, 'not every client behind the proxy')
  t.match(lines.find((line) => /too many/.test(line.msg)), { clientAddress: '203.0.113.7' })

  const { app: hops } = await adminApp(t, db, { TRUST_PROXY: '1' })
  const viaHop = await loginWith(hops, ADMIN_TOKEN, forwarded('203.0.113.9'))
  t.match(viaHop.cookies, [{ secure: true }], 'a hop count trusts the nearest proxy')

  await t.rejects(adminApp(t, db, { TRUST_PROXY: 'proxy.example.com' }), ConfigError)
})

t.test('the database down: a session cookie and a login get 503 with Retry-After, not 500', async (t) => {
  // Port 1 on this machine: nothing listens there.
  const unreachable = connectDatabase('postgresql://127.0.0.1:1/sms_outbox', { poolSize: 1 })
  t.teardown(() => unreachable.close())
  const app = await buildTestApp({ config: { ADMIN_TOKEN }, database: unreachable, logger: silentLog })
  t.teardown(() => app.close())
  const withCookie = await app.inject({ url: '/v1/admin/stats', cookies: { [SESSION_COOKIE]: 'A'.repeat(43) } })
  t.equal(withCookie.statusCode, 503)
  t.equal(withCookie.headers['retry-after'], '5')
  const login = await loginWith(app, ADMIN_TOKEN)
  t.equal(login.statusCode, 503)
  t.equal(login.headers['set-cookie'], undefined)
})
