import t from 'tap'
import type { AlertEvent } from '../../src/alerts/alert-event.ts'
import { buildTestApp } from '../helpers/test-app.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { enqueue, runningDispatcher, silentLog } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

const ADMIN_TOKEN = 'test-admin-token-0123456789'
const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` }

async function adminApp(t: { teardown(fn: () => unknown): void }, db: TestDatabase, alerts: AlertEvent[] = []) {
  const app = await buildTestApp({
    config: { DATABASE_URL: db.url, ADMIN_TOKEN, MESSAGE_TTL_SECONDS: 3_600 },
    database: db,
    logger: silentLog,
    alerts: { notify: (event) => alerts.push(event), close: async () => {} },
  })
  t.teardown(() => app.close())
  const call = (method: 'GET' | 'POST', url: string, payload?: object, headers: Record<string, string> = {}) =>
    app.inject({ method, url, payload, headers: { ...bearer, ...headers } })
  return { app, call }
}

/** A message that died on `errorCode` after one attempt. */
async function deadMessage(db: TestDatabase, errorCode: string, to = '010-1234-5678'): Promise<string> {
  const id = await enqueue(db, { to })
  await db.sql(
    `UPDATE sms_outbox.messages SET status = 'dead', attempts = 1, counted_attempts = 1, last_error_code = $2,
            last_error = 'failed with ' || $2 WHERE id = $1`,
    [id, errorCode],
  )
  await db.sql(
    `INSERT INTO sms_outbox.message_attempts (message_id, attempt, started_at, finished_at, outcome, error_code, http_status)
     VALUES ($1, 1, now(), now(), 'permanent', $2, 400)`,
    [id, errorCode],
  )
  return id
}

const statusOf = async (db: TestDatabase, id: string) =>
  (await db.sql('SELECT status FROM sms_outbox.messages WHERE id = $1', [id]))[0].status as string

t.test('every admin route needs the bearer token; a token in the URL is refused', async (t) => {
  const db = await createTestDatabase(t)
  const { app } = await adminApp(t, db)
  for (const url of ['/v1/admin/messages', '/v1/admin/stats', '/v1/admin/providers']) {
    const none = await app.inject({ url })
    t.equal(none.statusCode, 401, url)
    t.match(none.json(), { code: 'UNAUTHORIZED', message: /Authorization: Bearer <ADMIN_TOKEN>/ })
    t.match(none.headers['www-authenticate'], /^Bearer/)
  }
  const wrong = await app.inject({ url: '/v1/admin/messages', headers: { authorization: 'Bearer not-the-token-at-all' } })
  t.equal(wrong.statusCode, 401)
  const basic = await app.inject({ url: '/v1/admin/messages', headers: { authorization: `Basic ${ADMIN_TOKEN}` } })
  t.equal(basic.statusCode, 401)
  const inUrl = await app.inject({ url: `/v1/admin/messages?token=${ADMIN_TOKEN}`, headers: bearer })
  t.equal(inUrl.statusCode, 401)
  t.match(inUrl.json(), { message: /token in the URL is refused/ })
  const post = await app.inject({ method: 'POST', url: '/v1/admin/messages/retry', payload: { dryRun: true } })
  t.equal(post.statusCode, 401, 'nothing is done without the token')
  t.equal((await app.inject({ url: '/v1/admin/messages', headers: bearer })).statusCode, 200)
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'health stays open')
})

t.test('API_TOKEN, when set, guards the enqueue routes; the admin token does not open them', async (t) => {
  const db = await createTestDatabase(t)
  const API_TOKEN = 'test-api-token-0123456789'
  const app = await buildTestApp({ config: { DATABASE_URL: db.url, API_TOKEN, ADMIN_TOKEN }, database: db, logger: silentLog })
  t.teardown(() => app.close())
  const send = (headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/v1/messages', payload: { to: '010-1234-5678', text: 'hi' }, headers })
  t.equal((await send({})).statusCode, 401)
  t.equal((await send(bearer)).statusCode, 401)
  t.equal((await send({ authorization: `Bearer ${API_TOKEN}` })).statusCode, 202)
  const notify = await app.inject({
    method: 'POST',
    url: '/v1/notifications/result-ready',
    payload: { to: '010-1234-5678', jobId: 'job-1' },
  })
  t.equal(notify.statusCode, 401)
  t.equal((await db.sql('SELECT count(*)::int AS n FROM sms_outbox.messages'))[0].n, 1, 'only the authorised request wrote')
})

t.test('list: filters, newest first, masked, cursor paging without gaps or repeats', async (t) => {
  const db = await createTestDatabase(t)
  const { call } = await adminApp(t, db)
  const older = await deadMessage(db, '1030')
  const newer = await deadMessage(db, '21211', '010-9876-5432')
  const expired = await enqueue(db)
  await db.sql(`UPDATE sms_outbox.messages SET status = 'expired' WHERE id = $1`, [expired])
  await enqueue(db)

  const dead = await call('GET', '/v1/admin/messages?status=dead')
  t.equal(dead.statusCode, 200)
  t.same(dead.json().messages.map((m: { id: string }) => m.id), [newer, older])
  t.match(dead.json().messages[0], { to: '+82 10-****-5432', status: 'dead', lastErrorCode: '21211', attempts: 1 })
  t.notMatch(dead.body, /1098765432|1012345678/, 'no full number in a list')

  t.same((await call('GET', '/v1/admin/messages?status=dead,expired')).json().messages.length, 3)
  t.same((await call('GET', '/v1/admin/messages?errorCode=1030')).json().messages.map((m: { id: string }) => m.id), [older])
  t.same((await call('GET', '/v1/admin/messages?to=%2B821098765432')).json().messages.map((m: { id: string }) => m.id), [newer])
  const future = encodeURIComponent(new Date(Date.now() + 60_000).toISOString())
  t.same((await call('GET', `/v1/admin/messages?since=${future}`)).json().messages, [])

  // Rows inserted by one statement share created_at to the microsecond: the id breaks ties.
  await db.sql(`UPDATE sms_outbox.messages SET created_at = '2026-01-01T00:00:00.123456Z'`)
  const seen: string[] = []
  let cursor: string | null = null
  do {
    const response = await call('GET', `/v1/admin/messages?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
    t.equal(response.statusCode, 200)
    seen.push(...response.json().messages.map((m: { id: string }) => m.id))
    cursor = response.json().nextCursor
  } while (cursor)
  t.equal(seen.length, 4)
  t.equal(new Set(seen).size, 4, 'every message exactly once')

  for (const [query, code] of [
    ['to=12345', 'INVALID_FILTER'],
    ['cursor=bm90LWEtY3Vyc29y', 'INVALID_FILTER'],
    ['status=lost', 'VALIDATION_FAILED'],
    ['limit=1000', 'VALIDATION_FAILED'],
    ['color=red', 'VALIDATION_FAILED'],
  ]) {
    const response = await call('GET', `/v1/admin/messages?${query}`)
    t.equal(response.statusCode, 400, query)
    t.equal(response.json().code, code, query)
  }
})

t.test('retry: dead back to pending with a fresh budget, recorded, harmless twice, then sent', async (t) => {
  const db = await createTestDatabase(t)
  const { call } = await adminApp(t, db)
  const id = await deadMessage(db, 'http_503')

  const first = await call('POST', `/v1/admin/messages/${id}/retry`, undefined, { 'x-admin-actor': 'alice' })
  t.equal(first.statusCode, 200)
  t.match(first.json(), { result: 'retried', message: { id, status: 'pending', to: '+82 10-****-5678' } })
  const [row] = await db.sql(
    'SELECT status, attempts, counted_attempts, next_attempt_at <= now() AS due FROM sms_outbox.messages WHERE id = $1',
    [id],
  )
  t.same(row, { status: 'pending', attempts: 1, counted_attempts: 0, due: true })
  const again = await call('POST', `/v1/admin/messages/${id}/retry`)
  t.match(again.json(), { result: 'unchanged', message: { status: 'pending' } })
  const actions = await db.sql('SELECT actor, action, detail FROM sms_outbox.admin_actions WHERE message_id = $1', [id])
  t.same(actions, [{ actor: 'alice', action: 'retry', detail: { from: 'dead', bulk: false } }])

  const detail = await call('GET', `/v1/admin/messages/${id}`)
  t.match(detail.json(), {
    to: '+821012345678',
    text: 'hello',
    attempts: [{ attempt: 1, outcome: 'permanent', errorCode: 'http_503' }],
    actions: [{ actor: 'alice', action: 'retry' }],
  })

  const fake = await startFakeWebhook(t)
  const { watch } = runningDispatcher(t, db, fake.url)
  t.equal(await watch.settled(db, id), 'sent')
  t.same((await db.sql('SELECT attempt FROM sms_outbox.message_attempts WHERE message_id = $1 ORDER BY attempt', [id])).map((r) => r.attempt), [1, 2])

  const sent = await call('POST', `/v1/admin/messages/${id}/retry`)
  t.equal(sent.statusCode, 409)
  t.match(sent.json(), { code: 'MESSAGE_NOT_RETRYABLE', message: /a sent message is not sent again/ })
  const missing = await call('POST', '/v1/admin/messages/6c1f6f8e-4a39-4b8e-9a57-3f1c2b7d9e10/retry')
  t.equal(missing.statusCode, 404)
})

t.test('retrying an expired message gives it a new deadline', async (t) => {
  const db = await createTestDatabase(t)
  const { call } = await adminApp(t, db)
  const id = await enqueue(db)
  await db.sql(`UPDATE sms_outbox.messages SET status = 'expired', expires_at = now() - interval '1 day' WHERE id = $1`, [id])
  t.equal((await call('POST', `/v1/admin/messages/${id}/retry`)).statusCode, 200)
  const [row] = await db.sql(
    `SELECT status, round(extract(epoch FROM expires_at - now()))::int AS left_s FROM sms_outbox.messages WHERE id = $1`,
    [id],
  )
  t.equal(row.status, 'pending')
  t.ok(row.left_s >= 3_590 && row.left_s <= 3_600, `expires in ${row.left_s} s (MESSAGE_TTL_SECONDS 3600)`)
})

t.test('cancel: only a pending message; harmless twice', async (t) => {
  const db = await createTestDatabase(t)
  const { call } = await adminApp(t, db)
  const pending = await enqueue(db)
  t.match((await call('POST', `/v1/admin/messages/${pending}/cancel`)).json(), { result: 'canceled', message: { status: 'canceled' } })
  t.match((await call('POST', `/v1/admin/messages/${pending}/cancel`)).json(), { result: 'unchanged' })
  t.equal(await statusOf(db, pending), 'canceled')
  t.same((await db.sql('SELECT action, actor FROM sms_outbox.admin_actions')), [{ action: 'cancel', actor: 'admin-api' }])

  const dead = await deadMessage(db, '1030')
  const refused = await call('POST', `/v1/admin/messages/${dead}/cancel`)
  t.equal(refused.statusCode, 409)
  t.match(refused.json(), { code: 'MESSAGE_NOT_CANCELABLE' })
  const sending = await enqueue(db)
  await db.sql(`UPDATE sms_outbox.messages SET status = 'sending', lease_token = gen_random_uuid(), locked_until = now() + interval '1 minute', attempts = 1, counted_attempts = 1 WHERE id = $1`, [sending])
  t.match((await call('POST', `/v1/admin/messages/${sending}/cancel`)).json(), { message: /being sent right now/ })
  t.equal(await statusOf(db, sending), 'sending')
})

t.test('bulk redrive: dryRun counts and changes nothing; then it retries exactly those', async (t) => {
  const db = await createTestDatabase(t)
  const { call } = await adminApp(t, db)
  const balance = [await deadMessage(db, '1030'), await deadMessage(db, '1030')]
  const other = await deadMessage(db, '21211')

  const dry = await call('POST', '/v1/admin/messages/retry', { errorCode: '1030', dryRun: true })
  t.same(dry.json(), { matched: 2, retried: 0, dryRun: true, byStatus: { dead: 2 }, byErrorCode: [{ errorCode: '1030', count: 2 }] })
  t.equal(await statusOf(db, balance[0]), 'dead')

  const real = await call('POST', '/v1/admin/messages/retry', { errorCode: '1030' }, { 'x-admin-actor': 'bob' })
  t.same(real.json(), { matched: 2, retried: 2, dryRun: false, byStatus: { dead: 2 }, byErrorCode: [{ errorCode: '1030', count: 2 }] })
  for (const id of balance) t.equal(await statusOf(db, id), 'pending')
  t.equal(await statusOf(db, other), 'dead')
  t.same(await db.sql(`SELECT count(*)::int AS n FROM sms_outbox.admin_actions WHERE actor = 'bob' AND detail->>'bulk' = 'true'`), [{ n: 2 }])
  t.same((await call('POST', '/v1/admin/messages/retry', { errorCode: '1030' })).json(), { matched: 0, retried: 0, dryRun: false, byStatus: {}, byErrorCode: [] })
  t.equal((await call('POST', '/v1/admin/messages/retry', { status: ['sent'] })).statusCode, 400)
})

t.test('bulk retry and cancel: an empty scope is refused, "every one" is a status spelled out', async (t) => {
  const db = await createTestDatabase(t)
  const { call } = await adminApp(t, db)
  const dead = await deadMessage(db, '1030')
  const pending = [await enqueue(db), await enqueue(db)]
  for (const route of ['retry', 'cancel']) {
    for (const body of [{}, { dryRun: true }, { dryRun: false }, { q: '   ' }]) {
      const refused = await call('POST', `/v1/admin/messages/${route}`, body)
      t.equal(refused.statusCode, 400, `${route} ${JSON.stringify(body)}`)
      t.match(refused.json(), { code: 'INVALID_FILTER', message: /say which messages: a status \(\[/ })
    }
  }
  t.equal(await statusOf(db, dead), 'dead', 'nothing was retried')
  for (const id of pending) t.equal(await statusOf(db, id), 'pending', 'nothing was canceled')
  t.same(await db.sql('SELECT count(*)::int AS n FROM sms_outbox.admin_actions'), [{ n: 0 }], 'nor recorded')

  t.match((await call('POST', '/v1/admin/messages/cancel', { status: ['pending'] })).json(), { matched: 2, canceled: 2 })
  for (const id of pending) t.equal(await statusOf(db, id), 'canceled')
  t.match((await call('POST', '/v1/admin/messages/retry', { status: ['dead', 'expired'] })).json(), { matched: 1, retried: 1 })
  t.equal(await statusOf(db, dead), 'pending')
})

t.test('providers: the pause is shown; an admin resume lifts it, is recorded and announced', async (t) => {
  const db = await createTestDatabase(t)
  const alerts: AlertEvent[] = []
  const { call } = await adminApp(t, db, alerts)
  await db.sql(
    `INSERT INTO sms_outbox.provider_pauses (provider, error_code, reason, next_probe_at)
     VALUES ('solapi', 'NotEnoughBalance', 'top up', now() + interval '1 minute')`,
  )
  t.match((await call('GET', '/v1/admin/providers')).json(), {
    active: 'console',
    paused: [{ provider: 'solapi', errorCode: 'NotEnoughBalance', reason: 'top up', probes: 0 }],
  })
  t.same((await call('POST', '/v1/admin/providers/solapi/resume', undefined, { 'x-admin-actor': 'carol' })).json(), {
    provider: 'solapi',
    resumed: true,
  })
  t.same((await call('GET', '/v1/admin/providers')).json().paused, [])
  t.same(await db.sql('SELECT actor, action, provider, detail FROM sms_outbox.admin_actions'), [
    { actor: 'carol', action: 'resume', provider: 'solapi', detail: { errorCode: 'NotEnoughBalance' } },
  ])
  t.same(alerts, [{ kind: 'resumed', provider: 'solapi', by: 'admin' }])
  t.same((await call('POST', '/v1/admin/providers/solapi/resume')).json(), { provider: 'solapi', resumed: false })
  t.equal((await call('POST', '/v1/admin/providers/acme/resume')).statusCode, 400)
})

t.test("providers: the retry budget in use sums this minute's claims over every slot", async (t) => {
  const db = await createTestDatabase(t)
  const { call } = await adminApp(t, db)
  // Small counts: rounded, they read the same even if the minute turns before the GET
  // (4 first attempts stay 4 for the 7.5 s in which the weight stays above 7/8).
  await db.sql(`
    INSERT INTO sms_outbox.retry_budget_counts (provider, slot, minute, first_attempts, retries)
    VALUES ('webhook', 1, date_trunc('minute', now()), 3, 0), ('webhook', 5, date_trunc('minute', now()), 1, 2)`)
  const { providers } = (await call('GET', '/v1/admin/providers')).json()
  t.match(providers.find((p: { provider: string }) => p.provider === 'webhook'), {
    state: 'sending',
    retryBudget: { firstAttemptsLastMinute: 4, retriesLastMinute: 2 },
  })
  t.match(providers.find((p: { provider: string }) => p.provider === 'twilio'), {
    retryBudget: { firstAttemptsLastMinute: 0, retriesLastMinute: 0 },
  })
})

t.test('stats: counts per status, dead per error code, 24 hours by hour', async (t) => {
  const db = await createTestDatabase(t)
  const { call } = await adminApp(t, db)
  await deadMessage(db, '1030')
  await deadMessage(db, '1030')
  await deadMessage(db, '21211')
  await enqueue(db)
  const stats = (await call('GET', '/v1/admin/stats')).json()
  t.same(stats.byStatus, { dead: 3, pending: 1 })
  t.same(stats.deadByErrorCode, [
    { errorCode: '1030', count: 2 },
    { errorCode: '21211', count: 1 },
  ])
  t.equal(stats.perHour.length, 24)
  t.match(stats.perHour.at(-1), { created: 4, sent: 0, dead: 3 })
  t.equal(stats.perHour.slice(0, 23).reduce((sum: number, hour: { created: number }) => sum + hour.created, 0), 0)
})

t.test('cancel of a message a dispatcher is claiming waits for the claim, and says it is being sent', async (t) => {
  const db = await createTestDatabase(t)
  const { call } = await adminApp(t, db)
  const id = await enqueue(db)
  // A dispatcher's claim, held open: the row is locked, and still pending to everyone else.
  const claim = await db.pool.connect()
  t.teardown(() => claim.release())
  await claim.query('BEGIN')
  await claim.query('SELECT id FROM sms_outbox.messages WHERE id = $1 FOR UPDATE', [id])
  let answered = false
  const canceling = call('POST', `/v1/admin/messages/${id}/cancel`).finally(() => (answered = true))
  // No event tells that the cancel has reached the lock: the database's own view of it does.
  // A cancel that answers without waiting has skipped the row: that is the failure.
  while (!answered) {
    const [{ waiting }] = await db.sql(
      `SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
    )
    if (waiting > 0) break
    await new Promise((done) => setImmediate(done))
  }
  await claim.query(
    `UPDATE sms_outbox.messages SET status = 'sending', attempts = 1, counted_attempts = 1,
            lease_token = gen_random_uuid(), locked_until = now() + interval '1 minute' WHERE id = $1`,
    [id],
  )
  await claim.query('COMMIT')
  const response = await canceling
  t.equal(response.statusCode, 409)
  t.match(response.json(), { message: /being sent right now/ })
  t.equal(await statusOf(db, id), 'sending', 'the claim decided')
})
