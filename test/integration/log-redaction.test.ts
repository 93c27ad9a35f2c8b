import { Writable } from 'node:stream'
import t from 'tap'
import { buildTestApp } from '../helpers/test-app.ts'
import { createLogger } from '../../src/logger.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

// Query strings reach the log with every request line. What they may carry (a number to
// filter by, a cursor, a token someone put in a URL) must not: the log of a real app
// instance is read back whole.
const ADMIN_TOKEN = 'admin-token-for-log-redaction-0123'
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const db = await createTestDatabase(t)
let output = ''
const sink = new Writable({
  write(chunk, _encoding, done) {
    output += chunk
    done()
  },
})
const app = await buildTestApp({ config: { DATABASE_URL: db.url, ADMIN_TOKEN }, database: db, logger: createLogger('info', sink) })
// A line that logs the request itself, as Fastify's own error lines do.
app.get('/test/logs-the-request', async (request) => {
  request.log.warn({ req: request }, 'a line with the request')
  return {}
})
t.teardown(() => app.close())

const lines = () =>
  output
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { url?: string; req?: { url?: string }; msg?: string })

// Secrets below are fictional; each must appear in no line.
const SECRETS = ['1012345678', '1234-5678', '1234.5678', 'curs0r-value', 'tok-value', 'key-value', 'secret-value']

t.test('to, q, cursor and every token, key or secret parameter are redacted from every line', async (t) => {
  const requests = [
    { url: '/v1/admin/messages?q=010-1234-5678&limit=5', headers: admin },
    { url: '/v1/admin/messages?status=dead&to=010-1234-5678&limit=5', headers: admin },
    { url: '/v1/admin/messages?cursor=curs0r-value&limit=5', headers: admin },
    { url: '/v1/admin/suppressions?to=%2B821012345678', headers: admin },
    { url: '/v1/admin/messages?token=tok-value' },
    { url: '/v1/admin/messages?Access_Token=tok-value&TO=010.1234.5678', headers: admin },
    { url: '/v1/messages/8b1e6f6e-0000-4000-8000-000000000000?api_key=key-value&X-API-KEY=key-value' },
    { url: '/v1/admin/stats?client_secret=secret-value&SECRET=secret-value', headers: admin },
    { url: '/no/such/route?to=01012345678&token=tok-value' },
    { url: '/test/logs-the-request?to=010-1234-5678&apiKey=key-value&limit=5' },
  ]
  for (const request of requests) await app.inject({ method: 'GET', ...request })

  const written = lines()
  const requestLines = written.filter((line) => line.url !== undefined || line.req?.url !== undefined)
  t.ok(requestLines.length >= requests.length, 'every request left a line with its url')
  for (const secret of SECRETS) t.notOk(output.includes(secret), `${secret} is in no line`)
  const urls = requestLines.map((line) => line.url ?? line.req?.url)
  t.ok(urls.includes('/v1/admin/messages?status=dead&to=[redacted]&limit=5'), 'other parameters are kept, in order')
  t.ok(urls.includes('/v1/admin/messages?Access_Token=[redacted]&TO=[redacted]'), 'names are matched in any case')
  t.ok(urls.includes('/test/logs-the-request?to=[redacted]&apiKey=[redacted]&limit=5'), 'a logged request is redacted too')
  t.ok(urls.includes('/v1/admin/messages?q=[redacted]&limit=5'), "the admin search, which may be a number")
})
