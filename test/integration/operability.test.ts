import { Validator } from '@seriousme/openapi-schema-validator'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyServerOptions } from 'fastify'
import { createRequire } from 'node:module'
import { pino, type Logger } from 'pino'
import t from 'tap'
import packageJson from '../../package.json' with { type: 'json' }
import { OneLinePerRequest } from '../../src/http/access-log.ts'
import { loadConfig } from '../../src/config.ts'
import { buildTestApp } from '../helpers/test-app.ts'
import { connectDatabase } from '../../src/db/database.ts'
import { installErrorHandling } from '../../src/http/error-handler.ts'
import { registerOperability, type OperabilityOptions } from '../../src/http/operability.ts'
import { requestIdOf } from '../../src/http/request-id.ts'
import { healthRoutes } from '../../src/http/routes/health-routes.ts'
import { messageRoutes } from '../../src/http/routes/message-routes.ts'
import { validatorCompiler } from '../../src/http/schema-validation.ts'
import { createOutboxMetrics, type OutboxMetrics } from '../../src/metrics/outbox-metrics.ts'
import { readOldestTransactionAge } from '../../src/metrics/outbox-readings.ts'
import { enqueue, silentLog } from '../helpers/outbox-fixture.ts'
import { until } from '../helpers/service-process.ts'
import { createTestDatabase, databaseUrl, type TestDatabase } from '../helpers/test-database.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** A logger whose lines the test can read. */
function capturingLog(): { log: Logger; lines: Record<string, any>[] } {
  const lines: Record<string, any>[] = []
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  return { log, lines }
}

/**
 * The app as app.ts builds it, minus what this file does not test: the same server
 * options, error handling and validator, registerOperability before any route, then
 * real routes.
 */
async function operableApp(
  t: { teardown(fn: () => unknown): void },
  db: TestDatabase,
  { metrics, log = silentLog, ...options }: Partial<OperabilityOptions> & { metrics: OutboxMetrics; log?: Logger },
) {
  const loggerInstance: FastifyServerOptions['loggerInstance'] = log
  const app = Fastify({ loggerInstance, requestIdHeader: false, genReqId: requestIdOf, logController: new OneLinePerRequest() }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  installErrorHandling(app)
  await registerOperability(app, { metrics, apiTokenRequired: false, ...options })
  await app.register(healthRoutes, { pool: db.pool })
  await app.register(messageRoutes, { config: loadConfig({ DATABASE_URL: db.url }), prisma: db.prisma, pool: db.pool })
  await app.ready()
  t.teardown(() => app.close())
  return app
}

type Labels = Record<string, string>

/** The samples of a Prometheus text exposition, as name + labels -> value. */
function parseExposition(text: string): { name: string; labels: Labels; value: number }[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
      if (!match) throw new Error(`not a sample line: ${line}`)
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
      return { name: match[1], labels, value: Number(match[3]) }
    })
}

/** The value of the one sample `name{labels}`; undefined if there is none. */
function sample(text: string, name: string, labels: Labels = {}): number | undefined {
  const found = parseExposition(text).filter(
    (s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([key, value]) => s.labels[key] === value),
  )
  if (found.length > 1) throw new Error(`${found.length} samples match ${name} ${JSON.stringify(labels)}`)
  return found[0]?.value
}

const families = (text: string) => new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`))

t.test('/metrics: the database gauges, attempts and latency, process metrics', async (t) => {
  const db = await createTestDatabase(t)
  // Counts fresh on every scrape here; the caching has a test of its own.
  const metrics = createOutboxMetrics({ pool: db.pool, log: silentLog, statusCountMaxAgeMs: 0 })
  const app = await operableApp(t, db, { metrics })

  const longestDue = await enqueue(db)
  const due = await enqueue(db)
  await enqueue(db, { sendAt: new Date(Date.now() + 3_600_000).toISOString() })
  const dead = await enqueue(db)
  await db.sql(`UPDATE sms_outbox.messages SET next_attempt_at = now() - interval '90 seconds' WHERE id = $1`, [longestDue])
  await db.sql(`UPDATE sms_outbox.messages SET next_attempt_at = now() - interval '10 seconds' WHERE id = $1`, [due])
  await db.sql(`UPDATE sms_outbox.messages SET status = 'dead', last_error_code = 'test' WHERE id = $1`, [dead])
  await db.sql(
    `INSERT INTO sms_outbox.provider_pauses (provider, error_code, reason, next_probe_at)
     VALUES ('solapi', 'NotEnoughBalance', 'top up your balance', now() + interval '1 minute')`,
  )
  metrics.recordAttempt('solapi', 'ok', 0.2)
  metrics.recordAttempt('solapi', 'ambiguous', 3)
  metrics.recordAttempt('solapi', 'ambiguous', 4)

  const response = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  const text = response.body

  const declared = families(text)
  for (const family of [
    'sms_outbox_messages gauge',
    'sms_outbox_attempts_total counter',
    'sms_outbox_send_duration_seconds histogram',
    'sms_outbox_due_messages gauge',
    'sms_outbox_oldest_due_age_seconds gauge',
    'sms_outbox_provider_paused gauge',
    'sms_outbox_oldest_transaction_age_seconds gauge',
    'sms_outbox_database_gauges_up gauge',
    'sms_outbox_requests_shed_total counter',
    'process_cpu_user_seconds_total counter',
    'process_resident_memory_bytes gauge',
    'nodejs_eventloop_lag_seconds gauge',
    'nodejs_heap_size_used_bytes gauge',
  ]) {
    t.ok(declared.has(family), family)
  }

  t.equal(sample(text, 'sms_outbox_database_gauges_up'), 1)
  t.equal(sample(text, 'sms_outbox_messages', { status: 'pending' }), 3, 'two due and one scheduled for later')
  t.equal(sample(text, 'sms_outbox_messages', { status: 'dead' }), 1)
  t.equal(sample(text, 'sms_outbox_messages', { status: 'sent' }), 0, 'every status has a series, zero or not')
  t.equal(sample(text, 'sms_outbox_messages', { status: 'canceled' }), 0)
  t.equal(sample(text, 'sms_outbox_due_messages'), 2, 'the one sent later is not due')
  const oldest = sample(text, 'sms_outbox_oldest_due_age_seconds')!
  t.ok(oldest >= 90 && oldest < 150, `oldest due age ${oldest} s: due 90 s ago by the database clock`)
  t.equal(sample(text, 'sms_outbox_provider_paused', { provider: 'solapi' }), 1)

  t.equal(sample(text, 'sms_outbox_attempts_total', { provider: 'solapi', outcome: 'ok' }), 1)
  t.equal(sample(text, 'sms_outbox_attempts_total', { provider: 'solapi', outcome: 'ambiguous' }), 2)
  t.equal(sample(text, 'sms_outbox_attempts_total', { provider: 'solapi', outcome: 'permanent' }), 0, 'every outcome has a series from the first attempt')
  t.equal(sample(text, 'sms_outbox_send_duration_seconds_count', { provider: 'solapi' }), 3)
  t.equal(sample(text, 'sms_outbox_send_duration_seconds_sum', { provider: 'solapi' }), 7.2)
  t.equal(sample(text, 'sms_outbox_send_duration_seconds_bucket', { provider: 'solapi', le: '0.25' }), 1)
  t.equal(sample(text, 'sms_outbox_send_duration_seconds_bucket', { provider: 'solapi', le: '2.5' }), 1)
  t.equal(sample(text, 'sms_outbox_send_duration_seconds_bucket', { provider: 'solapi', le: '5' }), 3)

  // The pause ends and nothing is due any more: the gauges follow at the next scrape.
  await db.sql('DELETE FROM sms_outbox.provider_pauses')
  await db.sql(`UPDATE sms_outbox.messages SET next_attempt_at = now() + interval '1 hour' WHERE status = 'pending'`)
  const after = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.equal(sample(after, 'sms_outbox_provider_paused', { provider: 'solapi' }), undefined, 'a resumed provider has no series')
  t.equal(sample(after, 'sms_outbox_due_messages'), 0)
  t.equal(sample(after, 'sms_outbox_oldest_due_age_seconds'), 0, '0 when nothing is due')
})

t.test('sms_outbox_oldest_transaction_age_seconds shows a transaction that holds back cleanup, and 0 once it ends', async (t) => {
  const db = await createTestDatabase(t)
  const app = await operableApp(t, db, { metrics: createOutboxMetrics({ pool: db.pool, log: silentLog }) })
  const scraped = async () => sample((await app.inject({ method: 'GET', url: '/metrics' })).body, 'sms_outbox_oldest_transaction_age_seconds')
  // Read alone: a scrape's other gauges run beside it and show up as statements a few
  // milliseconds old.
  const age = () => readOldestTransactionAge(db.pool)
  t.equal(await age(), 0, 'nothing open')

  // A session left idle in a transaction that has read something: its snapshot stays.
  const idle = await db.pool.connect()
  t.teardown(() => idle.release())
  await idle.query('BEGIN ISOLATION LEVEL REPEATABLE READ')
  await idle.query('SELECT count(*) FROM sms_outbox.messages')
  const pid = (await idle.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid
  const [{ opened }] = await db.sql<{ opened: number }>(`SELECT extract(epoch FROM now() - xact_start)::float8 AS opened FROM pg_stat_activity WHERE pid = $1`, [pid])
  const shown = (await scraped())!
  t.ok(shown > 0 && shown >= opened, `the scrape shows ${shown} s; the transaction began ${opened} s before the harness looked`)

  await idle.query('COMMIT')
  t.equal(await age(), 0, 'back to 0 when it ends')
  // A transaction that read nothing in READ COMMITTED holds no snapshot between statements.
  await idle.query('BEGIN')
  await idle.query('SELECT 1')
  t.equal(await age(), 0, 'an idle READ COMMITTED transaction without a write holds nothing back')
  await idle.query('SELECT txid_current()')
  t.ok((await age()) > 0, 'one that took a transaction id does')
  await idle.query('ROLLBACK')
})

t.test('METRICS_TOKEN: /metrics needs it as a bearer token (as Prometheus sends it); unset, /metrics stays open', async (t) => {
  const db = await createTestDatabase(t)
  const METRICS_TOKEN = 'a-scrape-token-0123456789'
  const guarded = await operableApp(t, db, { metrics: createOutboxMetrics({ pool: db.pool, log: silentLog }), metricsToken: METRICS_TOKEN })
  const scrape = (headers: Record<string, string> = {}) => guarded.inject({ method: 'GET', url: '/metrics', headers })

  const anonymous = await scrape()
  t.equal(anonymous.statusCode, 401)
  t.match(anonymous.json(), { code: 'UNAUTHORIZED', message: /Authorization: Bearer <METRICS_TOKEN>/ })
  t.notMatch(anonymous.body, /sms_outbox_/, 'no metric leaks in the refusal')
  t.equal((await scrape({ authorization: 'Bearer not-the-scrape-token-000' })).statusCode, 401)
  t.equal((await scrape({ authorization: `Basic ${METRICS_TOKEN}` })).statusCode, 401)
  t.equal((await guarded.inject({ method: 'GET', url: `/metrics?token=${METRICS_TOKEN}` })).statusCode, 401, 'not in the URL')
  const allowed = await scrape({ authorization: `Bearer ${METRICS_TOKEN}` })
  t.equal(allowed.statusCode, 200)
  t.match(allowed.body, /^# HELP /m)
  t.equal((await guarded.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'health checks stay open')
  t.same((await guarded.inject({ method: 'GET', url: '/docs/json' })).json().paths['/metrics'].get.security, [{ metricsToken: [] }])

  // app.ts reads METRICS_TOKEN from the settings, in every role: a worker serves /metrics too.
  for (const ROLE of ['all', 'worker'] as const) {
    const app = await buildTestApp({ config: { DATABASE_URL: db.url, ROLE, METRICS_TOKEN }, database: db, logger: silentLog })
    t.teardown(() => app.close())
    t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401, `ROLE=${ROLE}`)
    t.equal((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).statusCode, 200)
  }
  const open = await buildTestApp({ config: { DATABASE_URL: db.url }, database: db, logger: silentLog })
  t.teardown(() => open.close())
  t.equal((await open.inject({ method: 'GET', url: '/metrics' })).statusCode, 200, 'unset: open, as before')
})

t.test('counts per status are reused for statusCountMaxAgeMs; the due backlog is read on every scrape', async (t) => {
  const db = await createTestDatabase(t)
  const metrics = createOutboxMetrics({ pool: db.pool, log: silentLog, statusCountMaxAgeMs: 60_000 })
  await enqueue(db)
  const first = await metrics.registry.metrics()
  t.equal(sample(first, 'sms_outbox_messages', { status: 'pending' }), 1)
  t.equal(sample(first, 'sms_outbox_due_messages'), 1)

  await enqueue(db)
  const second = await metrics.registry.metrics()
  t.equal(sample(second, 'sms_outbox_messages', { status: 'pending' }), 1, 'the cached count')
  t.equal(sample(second, 'sms_outbox_due_messages'), 2, 'a fresh index read')
})

t.test('a database that fails a scrape leaves the other metrics served, and says so', async (t) => {
  const serverUrl = process.env.TEST_DATABASE_URL!
  const unreachable = connectDatabase(databaseUrl(serverUrl, 'no_such_database'), { poolSize: 1 })
  t.teardown(() => unreachable.close())
  const { log, lines } = capturingLog()
  const metrics = createOutboxMetrics({ pool: unreachable.pool, log, statusCountMaxAgeMs: 0 })
  metrics.recordAttempt('webhook', 'retryable', 0.05)

  const text = await metrics.registry.metrics()
  t.equal(sample(text, 'sms_outbox_database_gauges_up'), 0)
  t.equal(sample(text, 'sms_outbox_attempts_total', { provider: 'webhook', outcome: 'retryable' }), 1)
  t.equal(sample(text, 'sms_outbox_messages', { status: 'pending' }), undefined, 'no made-up counts')
  t.ok(sample(text, 'process_cpu_user_seconds_total')! >= 0)
  const warnings = lines.filter((line) => /^metrics: could not read/.test(line.msg))
  t.same(
    warnings.map((line) => line.msg.replace(/;.*/, '')).sort(),
    [
      'metrics: could not read message counts',
      'metrics: could not read provider pauses',
      'metrics: could not read the due backlog',
      'metrics: could not read the oldest transaction',
    ],
    'one warning per reading, not one per gauge',
  )
})

t.test('/docs/json: a valid OpenAPI 3 document of the registered routes; /docs: the UI, served offline', async (t) => {
  const db = await createTestDatabase(t)
  const metrics = createOutboxMetrics({ pool: db.pool, log: silentLog })
  const app = await operableApp(t, db, { metrics, apiTokenRequired: true })

  const response = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(response.statusCode, 200)
  const document = response.json()
  const validation = await new Validator().validate(document)
  t.ok(validation.valid, `valid OpenAPI: ${JSON.stringify(validation.errors)}`)
  t.equal(document.openapi, '3.1.0')
  t.same(document.info, { ...document.info, title: 'sms-outbox', version: packageJson.version })
  t.same(document.components.securitySchemes.apiToken, { ...document.components.securitySchemes.apiToken, type: 'http', scheme: 'bearer' })
  t.same(document.components.securitySchemes.adminToken, { ...document.components.securitySchemes.adminToken, type: 'http', scheme: 'bearer' })

  t.same(
    Object.keys(document.paths).sort(),
    ['/healthz', '/metrics', '/readyz', '/v1/messages', '/v1/messages/batch', '/v1/messages/{id}'],
    'every route registered here, and not the docs themselves',
  )
  const post = document.paths['/v1/messages'].post
  t.equal(post.summary, 'Accept one message; it is committed before the answer')
  t.same(post.security, [{ apiToken: [] }], 'API_TOKEN is set')
  const body = post.requestBody.content['application/json'].schema
  t.same(body.required?.sort(), ['text', 'to'])
  t.equal(body.properties.to.maxLength, 40)
  t.equal(body.additionalProperties, false)
  t.ok(post.parameters.some((p: any) => p.in === 'header' && p.name === 'idempotency-key'))
  t.same(Object.keys(post.responses).sort(), ['200', '202', '400', '409', '413', '415', '422', '503'])
  t.same(document.paths['/v1/messages/{id}'].get.parameters.map((p: any) => [p.in, p.name]), [['path', 'id']])
  t.equal(document.paths['/metrics'].get.security, undefined, 'Prometheus scrapes without a token')
  t.equal(document.paths['/healthz'].get.security, undefined)

  const page = await app.inject({ method: 'GET', url: '/docs' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.body, /<title>sms-outbox API<\/title>/)
  const scripts = [...page.body.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1])
  t.ok(scripts.length > 0, 'the page loads scripts')
  for (const script of scripts) {
    t.notMatch(script, /^(https?:)?\/\//, `${script} comes from this server`)
    const asset = await app.inject({ method: 'GET', url: new URL(script, 'http://localhost/docs/').pathname })
    t.equal(asset.statusCode, 200, script)
  }
  const bundle = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' })
  t.equal(bundle.statusCode, 200)
  t.ok(bundle.body.length > 100_000, 'the Swagger UI bundle itself, from the package')
})

/** The version of `name` as `fromPackage` resolves it, so a nested copy is the one read. */
function resolvedVersion(name: string, fromPackage: string): string {
  const from = createRequire(createRequire(import.meta.url).resolve(`${fromPackage}/package.json`))
  return (from(`${name}/package.json`) as { version: string }).version
}

t.test('/docs is served by an @fastify/static with the path advisories fixed (10.1.2 and later)', async (t) => {
  const [major, minor, patch] = resolvedVersion('@fastify/static', '@fastify/swagger-ui').split('.').map(Number)
  t.ok(major > 10 || (major === 10 && (minor > 1 || (minor === 1 && patch >= 2))), `@fastify/static ${major}.${minor}.${patch}`)
})

t.test('x-request-id: echoed when acceptable, a fresh UUID otherwise, on every answer and in the log', async (t) => {
  const db = await createTestDatabase(t)
  const { log, lines } = capturingLog()
  const metrics = createOutboxMetrics({ pool: db.pool, log: silentLog })
  const app = await operableApp(t, db, { metrics, log })

  const sent = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'trace-4bf92f3577b34da6' } })
  t.equal(sent.headers['x-request-id'], 'trace-4bf92f3577b34da6')
  t.ok(lines.some((line) => line.reqId === 'trace-4bf92f3577b34da6'), 'the log lines carry it')
  const logged = lines.filter((line) => line.reqId === 'trace-4bf92f3577b34da6')
  t.equal(logged.length, 1, 'one line per request')
  t.match(logged[0], { msg: 'request completed', method: 'GET', url: '/healthz', statusCode: 200, responseTime: Number })

  const generated = await app.inject({ method: 'GET', url: '/healthz' })
  t.match(generated.headers['x-request-id'], UUID)
  const another = await app.inject({ method: 'GET', url: '/healthz' })
  t.not(another.headers['x-request-id'], generated.headers['x-request-id'])

  for (const unacceptable of ['has spaces in it', 'x'.repeat(129), 'caf\u00e9']) {
    const response = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': unacceptable } })
    t.match(response.headers['x-request-id'], UUID, `${JSON.stringify(unacceptable.slice(0, 20))} is replaced`)
  }

  const invalid = await app.inject({ method: 'POST', url: '/v1/messages', payload: {}, headers: { 'x-request-id': 'bad-body-1' } })
  t.equal(invalid.statusCode, 400)
  t.equal(invalid.headers['x-request-id'], 'bad-body-1', 'on an error answer')
  const missing = await app.inject({ method: 'GET', url: '/nowhere', headers: { 'x-request-id': 'lost-1' } })
  t.equal(missing.statusCode, 404)
  t.equal(missing.headers['x-request-id'], 'lost-1', 'on a 404')
  const accepted = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    payload: { to: '010-1234-5678', text: 'hello' },
    headers: { 'x-request-id': 'order-7' },
  })
  t.equal(accepted.statusCode, 202, 'normal load is not shed')
  t.equal(accepted.headers['x-request-id'], 'order-7')
})

t.test('overloaded: 503 OVERLOADED with Retry-After and nothing written; liveness and metrics still answer', async (t) => {
  const db = await createTestDatabase(t)
  const metrics = createOutboxMetrics({ pool: db.pool, log: silentLog })
  // Every process uses more than one byte of heap: overloaded from under-pressure's first
  // sample on, one second after registration. It emits nothing when it samples, so the
  // test asks its own isUnderPressure() until then (a bounded poll, for want of an event).
  const app = await operableApp(t, db, { metrics, loadShedding: { maxHeapUsedBytes: 1 } })
  await until(() => app.isUnderPressure(), "under-pressure's first heap sample")

  const response = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    payload: { to: '010-1234-5678', text: 'hello' },
    headers: { 'x-request-id': 'busy-1' },
  })
  t.equal(response.statusCode, 503)
  t.same(response.json(), {
    statusCode: 503,
    code: 'OVERLOADED',
    error: 'Service Unavailable',
    message: 'the server is overloaded; retry later',
  })
  t.equal(response.headers['retry-after'], '5')
  t.equal(response.headers['x-request-id'], 'busy-1')
  t.same(await db.sql('SELECT id FROM sms_outbox.messages'), [], 'the message was not accepted')

  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503, 'readiness fails: traffic goes elsewhere')
  t.equal((await app.inject({ method: 'GET', url: '/docs/json' })).statusCode, 503)
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'liveness is never shed')
  const scrape = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(scrape.statusCode, 200, 'metrics are never shed')
  t.equal(sample(scrape.body, 'sms_outbox_requests_shed_total', { reason: 'heapUsedBytes' }), 3)
})
