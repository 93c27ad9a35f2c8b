import t from 'tap'
import { buildTestApp } from '../helpers/test-app.ts'
import { silentLog } from '../helpers/outbox-fixture.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

// Each case was a 500 (or, for the long metadata key, a 202) found by chaos scenario 23,
// the input fuzz. Every one must be a 400 that names the field, and write nothing.
const ADMIN_TOKEN = 'admin-token-for-fuzz-findings-0123'
const db = await createTestDatabase(t)
const app = await buildTestApp({ config: { DATABASE_URL: db.url, ADMIN_TOKEN }, database: db, logger: silentLog })
t.teardown(() => app.close())
const rowCount = async () => (await db.sql('SELECT count(*)::int AS n FROM sms_outbox.messages'))[0].n as number
const cursor = (createdAt: string) => Buffer.from(JSON.stringify([createdAt, '8b1e6f6e-0000-4000-8000-000000000000'])).toString('base64url')

t.test('dates JavaScript or PostgreSQL cannot hold are a 400, not a 500', async (t) => {
  for (const when of ['2026-06-30T23:59:60Z', '0000-01-01T00:00:00Z', '0001-01-01T00:00:00+01:00']) {
    for (const field of ['sendAt', 'expiresAt']) {
      const single = await app.inject({ method: 'POST', url: '/v1/messages', payload: { to: '010-1234-5678', text: 'x', [field]: when } })
      t.equal(single.statusCode, 400, `${field} ${when}`)
      t.match(single.json(), { code: 'VALIDATION_FAILED', message: new RegExp(field) })
      const batch = await app.inject({ method: 'POST', url: '/v1/messages/batch', payload: { messages: [{ to: '010-1234-5678', text: 'x', [field]: when }] } })
      t.equal(batch.statusCode, 400, `batch ${field} ${when}`)
    }
    const since = await app.inject({ method: 'GET', url: `/v1/admin/messages?since=${encodeURIComponent(when)}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    t.equal(since.statusCode, 400, `since ${when}`)
  }
  const fine = await app.inject({ method: 'POST', url: '/v1/messages', payload: { to: '010-1234-5678', text: 'x', sendAt: '2026-12-31T23:59:59.999+09:00' } })
  t.equal(fine.statusCode, 202, 'an ordinary date still passes')
  await db.sql('DELETE FROM sms_outbox.messages')
})

t.test('metadata nested deeper than 32 levels, or with a key over 64 characters, is a 400', async (t) => {
  const deep = `{"to":"010-1234-5678","text":"x","metadata":{"a":${'['.repeat(30_000)}${']'.repeat(30_000)}}}`
  const nested = await app.inject({ method: 'POST', url: '/v1/messages', payload: deep, headers: { 'content-type': 'application/json' } })
  t.equal(nested.statusCode, 400)
  t.match(nested.json(), { code: 'INVALID_MESSAGE', message: /metadata: must not nest deeper than 32 levels/ })
  const longKey = await app.inject({ method: 'POST', url: '/v1/messages', payload: { to: '010-1234-5678', text: 'x', metadata: { ['k'.repeat(65)]: 1 } } })
  t.equal(longKey.statusCode, 400)
  t.match(longKey.json(), { code: 'VALIDATION_FAILED', message: /metadata/ })
  t.equal(await rowCount(), 0)
})

t.test('admin list: a forged cursor with an impossible date, or NUL in errorCode, is a 400', async (t) => {
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}` }
  for (const createdAt of ['0000-01-01 00:00:00+00', '2026-02-30 00:00:00+00', '2026-01-01 24:00:00+00']) {
    const response = await app.inject({ method: 'GET', url: `/v1/admin/messages?cursor=${cursor(createdAt)}`, headers })
    t.equal(response.statusCode, 400, createdAt)
    t.match(response.json(), { code: 'INVALID_FILTER' })
  }
  const real = await app.inject({ method: 'GET', url: `/v1/admin/messages?cursor=${cursor('2026-11-29 18:49:16.123456+00')}`, headers })
  t.equal(real.statusCode, 200, 'a real cursor still pages')
  const nul = await app.inject({ method: 'GET', url: '/v1/admin/messages?errorCode=%00', headers })
  t.equal(nul.statusCode, 400)
  const bulk = await app.inject({ method: 'POST', url: '/v1/admin/messages/retry', headers, payload: { errorCode: 'a\u0000b', dryRun: true } })
  t.equal(bulk.statusCode, 400)
})

t.test('phone numbers: only ASCII digits, +, spaces, -, . and parentheses; look-alike digits and NUL are a 400', async (t) => {
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}` }
  const lookAlikes = ['０１０-１２３４-５６７８', '٠١٠١٢٣٤٥٦٧٨', '۰۱۰۱۲۳۴۵۶۷۸', '010-1234-5678\u0000', '\u0000+821012345678', '010\u00a01234\u00a05678']
  for (const to of lookAlikes) {
    const single = await app.inject({ method: 'POST', url: '/v1/messages', payload: { to, text: 'x' } })
    t.equal(single.statusCode, 400, `single ${JSON.stringify(to)}`)
    t.match(single.json(), { message: /to/ })
    const batch = await app.inject({ method: 'POST', url: '/v1/messages/batch', payload: { messages: [{ to, text: 'x' }] } })
    t.equal(batch.statusCode, 400, `batch ${JSON.stringify(to)}`)
    const notification = await app.inject({ method: 'POST', url: '/v1/notifications/result-ready', payload: { to, jobId: 'job-1' } })
    t.equal(notification.statusCode, 400, `result-ready ${JSON.stringify(to)}`)
    const filter = await app.inject({ method: 'GET', url: `/v1/admin/messages?to=${encodeURIComponent(to)}`, headers })
    t.equal(filter.statusCode, 400, `admin filter ${JSON.stringify(to)}`)
    const suppress = await app.inject({ method: 'POST', url: '/v1/admin/suppressions', headers, payload: { to } })
    t.equal(suppress.statusCode, 400, `suppress ${JSON.stringify(to)}`)
  }
  for (const to of ['010-1234-5678', '(010) 1234.5678', '+82 10 1234 5678']) {
    const fine = await app.inject({ method: 'POST', url: '/v1/messages', payload: { to, text: 'x' } })
    t.equal(fine.statusCode, 202, `${to} still passes`)
  }
  await db.sql('DELETE FROM sms_outbox.messages')
  t.equal(await rowCount(), 0)
})

// Cursors a caller could forge: every list answers each with a 400, never a 500.
const encoded = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const SOME_ID = '8b1e6f6e-0000-4000-8000-000000000000'
const FORGED_CURSORS = [
  ['bad zone offset', encoded(['2026-11-29 18:49:16.123456+99', SOME_ID])],
  ['zone minutes over 59', encoded(['2026-11-29 18:49:16+09:75', SOME_ID])],
  ['NUL in the key', encoded(['2026-11-29 18:49:16+00', 'a\u0000b'])],
  ['NUL in the time', encoded(['2026-11-29 18:49:16\u0000+00', SOME_ID])],
  ['a number as the key', encoded(['2026-11-29 18:49:16+00', '+821012345678'])],
  ['garbage', 'not*base64url!'],
  ['base64 of garbage', encoded('\u0000\u0001garbage')],
  ['an object', encoded({ position: '2026-11-29 18:49:16+00', key: SOME_ID })],
  ['null', encoded(null)],
  ['a number', encoded(5)],
  ['a one-element array', encoded(['2026-11-29 18:49:16+00'])],
  ['three elements', encoded(['2026-11-29 18:49:16+00', SOME_ID, 'x'])],
  ['numbers inside', encoded([1, 2])],
]

for (const list of ['/v1/admin/messages', '/v1/admin/suppressions']) {
  t.test(`${list}: a forged cursor is a 400, never a 500`, async (t) => {
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` }
    for (const [what, forged] of FORGED_CURSORS) {
      const response = await app.inject({ method: 'GET', url: `${list}?cursor=${encodeURIComponent(forged)}`, headers })
      t.equal(response.statusCode, 400, what)
      t.match(response.json(), { code: 'INVALID_FILTER' }, what)
    }
    for (const offset of ['+15:59:59', '-15:59', '+08:27:52', '+09']) {
      const fine = encoded([`2026-11-29 18:49:16.123456${offset}`, SOME_ID])
      const response = await app.inject({ method: 'GET', url: `${list}?cursor=${fine}`, headers })
      t.equal(response.statusCode, 200, `a zone offset PostgreSQL reads: ${offset}`)
    }
  })
}
