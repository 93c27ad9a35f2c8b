import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { connectDatabase } from '../../src/db/database.ts'
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts'
import { applyMigrations } from '../../src/db/migrations.ts'
import { buildTestApp } from '../helpers/test-app.ts'
import { silentLog } from '../helpers/outbox-fixture.ts'

// This file owns its PostgreSQL, so stopping it disturbs no other test.
const dataDir = mkdtempSync(join(tmpdir(), 'sms-outbox-outage-'))
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
let server = await startEmbeddedPostgres({ dataDir })
const url = server.url()
const port = Number(new URL(url).port)
t.teardown(() => server.stop())
await applyMigrations(url)
const database = connectDatabase(url, { poolSize: 2 })
t.teardown(() => database.close())
const app = await buildTestApp({ config: { DATABASE_URL: url }, database, logger: silentLog })
t.teardown(() => app.close())

const send = () =>
  app.inject({ method: 'POST', url: '/v1/messages', payload: { to: '+821012345678', text: 'outage' } })

t.test('database down: 503 with Retry-After, never a 2xx; back up: accepted again', async (t) => {
  t.equal((await send()).statusCode, 202)
  await server.stop()

  const started = performance.now()
  const during = await send()
  t.equal(during.statusCode, 503)
  t.equal(during.headers['retry-after'], '5')
  t.match(during.json(), { statusCode: 503, code: 'DATABASE_UNAVAILABLE' })
  t.ok(performance.now() - started < 10_000, 'answered within the request timeout')
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 503)
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'the process itself is fine')
  t.equal((await app.inject({ method: 'GET', url: '/v1/messages/8b1e6f6e-0000-4000-8000-000000000000' })).statusCode, 503)

  server = await startEmbeddedPostgres({ dataDir, port })
  let after = await send()
  // The pool may hand out one connection that died with the old server before it notices.
  for (let i = 0; i < 5 && after.statusCode === 503; i += 1) after = await send()
  t.equal(after.statusCode, 202)
  const [{ n }] = (await database.pool.query(`SELECT count(*)::int AS n FROM sms_outbox.messages`)).rows
  t.equal(n, 2, 'exactly the two accepted messages exist')
})
