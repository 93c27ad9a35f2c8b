import iconv from 'iconv-lite'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp } from '../helpers/test-app.ts'
import { storedIdempotencyKey } from '../../src/outbox/enqueue/idempotency-key.ts'
import { silentLog } from '../helpers/outbox-fixture.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

const FRONTEND_URL = 'https://findmyrizz.example'
const URL_PATH = '/v1/notifications/result-ready'

const db = await createTestDatabase(t)
// A short general TTL, so that the 24 hours below can only come from the result link's lifetime.
const app = await buildTestApp({
  config: { DATABASE_URL: db.url, FRONTEND_URL, MESSAGE_TTL_SECONDS: 600, RETRY_MAX_RETRIES: 5 },
  database: db,
  logger: silentLog,
})
t.teardown(() => app.close())

// The bundled template, read and filled in here rather than through the code under test.
const bundledTemplate = (await readFile(new URL('../../templates/result-ready.txt', import.meta.url), 'utf8')).trimEnd()
const expectedBody = (jobId: string) =>
  bundledTemplate.replaceAll('${FRONTEND_URL}', FRONTEND_URL).replaceAll('${jobId}', jobId)
const eucKrBytes = (text: string) => iconv.encode(text, 'euc-kr').length

const notify = (payload: unknown) => app.inject({ method: 'POST', url: URL_PATH, payload: payload as object })
const rowCount = async () => (await db.sql('SELECT count(*)::int AS n FROM sms_outbox.messages'))[0].n as number
const rowsForJob = async (jobId: string) =>
  db.sql(`SELECT id FROM sms_outbox.messages WHERE metadata->>'jobId' = $1`, [jobId])

t.test('202 with the committed message: templated body, LMS, 24-hour expiry, job metadata', async (t) => {
  const jobId = 'job-7f3a.2024_01'
  const response = await notify({ to: '010-1234-5678', jobId })
  t.equal(response.statusCode, 202)
  const body = response.json()
  t.match(body, { id: String, status: 'pending', to: '+82 10-****-5678', type: 'LMS' })
  t.notMatch(response.body, /1012345678/, 'the full number is not in the response')

  const text = expectedBody(jobId)
  t.match(text, `${FRONTEND_URL}/results/${jobId}`, 'the expected text holds the result link')
  t.match(text, /deleted after 24 hours/, 'the expected text holds the deletion notice')
  const bytes = eucKrBytes(text)
  t.ok(bytes > 90, 'the bundled text is longer than an SMS')
  t.equal(body.bytes, bytes)

  const [row] = await db.sql(
    `SELECT recipient, body, type, bytes, status, max_retries, metadata, idempotency_key,
            (expires_at - created_at) = interval '24 hours' AS expires_in_24h,
            extract(epoch FROM expires_at - created_at)::int AS ttl_seconds
     FROM sms_outbox.messages WHERE id = $1`,
    [body.id],
  )
  t.same(row, {
    recipient: '+821012345678',
    body: text,
    type: 'LMS',
    bytes,
    status: 'pending',
    max_retries: 5,
    metadata: { notification: 'result-ready', jobId },
    idempotency_key: storedIdempotencyKey(`result-ready:${jobId}`),
    expires_in_24h: true,
    ttl_seconds: 86_400,
  })
  t.ok(row.body.includes(`${FRONTEND_URL}/results/${jobId}`), 'the stored body links to the result')
  t.match(row.body, /It will be deleted after 24 hours\.$/, 'the stored body ends with the deletion notice')
})

t.test('the same jobId and number again (either form) is a 200 with the same id, and no new row', async (t) => {
  const jobId = 'job-repeat'
  const first = await notify({ to: '010-1234-5678', jobId })
  t.equal(first.statusCode, 202)
  const id = first.json().id

  const sameForm = await notify({ to: '010-1234-5678', jobId })
  t.equal(sameForm.statusCode, 200)
  t.match(sameForm.json(), { id, status: 'pending', to: '+82 10-****-5678', type: 'LMS', bytes: first.json().bytes })

  const e164 = await notify({ to: '+821012345678', jobId })
  t.equal(e164.statusCode, 200)
  t.equal(e164.json().id, id)

  const rows = await rowsForJob(jobId)
  t.same(rows, [{ id }], 'one row for the job')
})

t.test('the same jobId with a different number is a 409 naming the job, and no new row', async (t) => {
  const jobId = 'job-conflict'
  const first = await notify({ to: '010-1234-5678', jobId })
  t.equal(first.statusCode, 202)
  const before = await rowCount()

  const conflict = await notify({ to: '010-9876-5432', jobId })
  t.equal(conflict.statusCode, 409)
  t.match(conflict.json(), {
    statusCode: 409,
    code: 'IDEMPOTENCY_CONFLICT',
    error: 'Conflict',
    message: /job job-conflict\b/,
  })
  t.notMatch(conflict.body, /98765432/, 'the other number is not echoed')
  t.equal(await rowCount(), before)
  const [row] = await db.sql(`SELECT recipient FROM sms_outbox.messages WHERE id = $1`, [first.json().id])
  t.equal(row.recipient, '+821012345678', 'the original message is untouched')
})

t.test('20 concurrent calls for one jobId make one row, and every answer carries its id', async (t) => {
  const jobId = 'job-race'
  const responses = await Promise.all(
    Array.from({ length: 20 }, (_, i) => notify({ to: i % 2 === 0 ? '010-1234-5678' : '+821012345678', jobId })),
  )
  const statuses = responses.map((r) => r.statusCode)
  t.equal(statuses.filter((s) => s === 202).length, 1, 'exactly one 202')
  t.equal(statuses.filter((s) => s === 200).length, 19, 'the rest are 200')
  const ids = new Set(responses.map((r) => r.json().id))
  t.equal(ids.size, 1, 'one id in every answer')
  const rows = await rowsForJob(jobId)
  t.same(rows, [{ id: [...ids][0] }], 'exactly one row')
})

t.test('bad input is a 400 and writes nothing', async (t) => {
  const cases: [string, unknown, string, RegExp][] = [
    ['missing jobId', { to: '010-1234-5678' }, 'VALIDATION_FAILED', /must have required property 'jobId'/],
    ['missing to', { jobId: 'job-x' }, 'VALIDATION_FAILED', /must have required property 'to'/],
    ['empty jobId', { to: '010-1234-5678', jobId: '' }, 'VALIDATION_FAILED', /jobId/],
    ['jobId with a slash', { to: '010-1234-5678', jobId: 'job/../admin' }, 'VALIDATION_FAILED', /jobId must match pattern/],
    ['jobId with a trailing newline', { to: '010-1234-5678', jobId: 'job-1\n' }, 'VALIDATION_FAILED', /jobId must match pattern/],
    ['jobId starting with a dot', { to: '010-1234-5678', jobId: '..' }, 'VALIDATION_FAILED', /jobId must match pattern/],
    ['jobId with a space', { to: '010-1234-5678', jobId: 'job 1' }, 'VALIDATION_FAILED', /jobId must match pattern/],
    ['jobId of 65 characters', { to: '010-1234-5678', jobId: 'a'.repeat(65) }, 'VALIDATION_FAILED', /jobId must NOT have more than 64 characters/],
    ['jobId as a number', { to: '010-1234-5678', jobId: 42 }, 'VALIDATION_FAILED', /jobId must be string/],
    ['unknown field', { to: '010-1234-5678', jobId: 'job-x', text: 'hi' }, 'VALIDATION_FAILED', /must NOT have additional properties/],
    ['landline', { to: '02-312-3456', jobId: 'job-x' }, 'INVALID_MESSAGE', /^to: .*landline/],
    ['garbage to', { to: 'call me maybe', jobId: 'job-x' }, 'INVALID_MESSAGE', /^to: .*not a valid phone number/],
    ['short digits', { to: '12345', jobId: 'job-x' }, 'INVALID_MESSAGE', /^to: .*not a valid phone number/],
  ]
  const before = await rowCount()
  for (const [name, payload, code, message] of cases) {
    const response = await notify(payload)
    t.equal(response.statusCode, 400, name)
    t.match(response.json(), { statusCode: 400, code, error: 'Bad Request', message }, name)
  }
  t.equal(await rowCount(), before, 'no row written')
})

t.test('a jobId of exactly 64 characters is accepted and linked', async (t) => {
  const jobId = `J${'x'.repeat(62)}9`
  t.equal(jobId.length, 64)
  const response = await notify({ to: '+821012345678', jobId })
  t.equal(response.statusCode, 202)
  const [row] = await db.sql('SELECT body, bytes FROM sms_outbox.messages WHERE id = $1', [response.json().id])
  t.equal(row.body, expectedBody(jobId))
  t.equal(row.bytes, eucKrBytes(expectedBody(jobId)))
})

t.test('RESULT_READY_TEMPLATE: a custom template file is what gets stored', async (t) => {
  const dir = t.testdir({ 'custom.txt': '[결과] ${jobId}\n' })
  const custom = await buildTestApp({
    config: { DATABASE_URL: db.url, FRONTEND_URL, RESULT_READY_TEMPLATE: join(dir, 'custom.txt') },
    database: db,
    logger: silentLog,
  })
  t.teardown(() => custom.close())
  const jobId = 'job-custom-1'
  const response = await custom.inject({ method: 'POST', url: URL_PATH, payload: { to: '010-1234-5678', jobId } })
  t.equal(response.statusCode, 202)
  const text = '[결과] job-custom-1'
  const bytes = eucKrBytes(text)
  t.equal(bytes, 19, 'Hangul is two bytes each in EUC-KR')
  t.match(response.json(), { status: 'pending', to: '+82 10-****-5678', type: 'SMS', bytes })
  const [row] = await db.sql('SELECT recipient, body, type, bytes, metadata FROM sms_outbox.messages WHERE id = $1', [
    response.json().id,
  ])
  t.same(row, {
    recipient: '+821012345678',
    body: text,
    type: 'SMS',
    bytes,
    metadata: { notification: 'result-ready', jobId },
  })
})

t.test('a template with an unknown placeholder stops buildApp, naming it', async (t) => {
  const dir = t.testdir({ 'bad.txt': 'Hi ${name}, see ${FRONTEND_URL}/results/${jobId}\n' })
  const path = join(dir, 'bad.txt')
  await t.rejects(
    buildTestApp({
      config: { DATABASE_URL: db.url, FRONTEND_URL, RESULT_READY_TEMPLATE: path },
      database: db,
      logger: silentLog,
    }),
    { name: 'InvalidTemplate', message: /unknown placeholders \$\{name\}/ },
  )
  await t.rejects(
    buildTestApp({
      config: { DATABASE_URL: db.url, FRONTEND_URL, RESULT_READY_TEMPLATE: join(dir, 'missing.txt') },
      database: db,
      logger: silentLog,
    }),
    { name: 'InvalidTemplate', message: /missing\.txt/ },
  )
})
