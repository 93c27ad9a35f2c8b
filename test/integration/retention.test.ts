import { Writable } from 'node:stream'
import t from 'tap'
import { buildTestApp } from '../helpers/test-app.ts'
import { createLogger } from '../../src/logger.ts'
import { enqueueMessages } from '../../src/outbox/enqueue/enqueue.ts'
import { prepareMessage } from '../../src/outbox/enqueue/prepare-message.ts'
import { runHousekeeping } from '../../src/outbox/housekeeping/housekeeping.ts'
import { eraseOldPersonalData } from '../../src/outbox/housekeeping/retention.ts'
import { enqueue, silentLog } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

const ADMIN_TOKEN = 'test-admin-token-0123456789'

async function aged(db: TestDatabase, status: string, hoursAgo: number): Promise<string> {
  const id = await enqueue(db, { text: `${status} ${hoursAgo}h` })
  const sent = status === 'sent' ? `now() - interval '${hoursAgo} hours'` : 'NULL'
  await db.sql(
    `UPDATE sms_outbox.messages SET status = $2, sent_at = ${sent}, updated_at = now() - make_interval(hours => $3)
     WHERE id = $1`,
    [id, status, hoursAgo],
  )
  return id
}

t.test('erases number, text and fingerprint of old terminal rows only; keeps the rest', async (t) => {
  const db = await createTestDatabase(t)
  const old = {
    sent: await aged(db, 'sent', 200),
    dead: await aged(db, 'dead', 200),
    expired: await aged(db, 'expired', 200),
    canceled: await aged(db, 'canceled', 200),
  }
  const recentSent = await aged(db, 'sent', 2)
  const oldPending = await aged(db, 'pending', 500)
  await db.sql(
    `INSERT INTO sms_outbox.message_attempts (message_id, attempt, started_at, finished_at, outcome, error_code)
     VALUES ($1, 1, now(), now(), 'permanent', '21211')`,
    [old.dead],
  )

  t.equal((await eraseOldPersonalData(db.pool, { retentionHours: 168, limit: 2 })).count, 2, 'a batch at most')
  t.equal((await eraseOldPersonalData(db.pool, { retentionHours: 168, limit: 100 })).count, 2)
  t.equal((await eraseOldPersonalData(db.pool, { retentionHours: 168, limit: 100 })).count, 0, 'nothing twice')

  const rows = await db.sql(
    `SELECT id, status, recipient, body, request_hash, erased_at IS NOT NULL AS erased FROM sms_outbox.messages`,
  )
  const byId = new Map(rows.map((row) => [row.id, row]))
  for (const [status, id] of Object.entries(old)) {
    t.match(byId.get(id), { status, recipient: null, body: null, request_hash: null, erased: true }, status)
  }
  t.match(byId.get(recentSent), { recipient: '+821012345678', erased: false }, 'recent rows are kept')
  t.match(byId.get(oldPending), { status: 'pending', recipient: '+821012345678', erased: false }, 'a pending row is never touched')
  t.same(await db.sql('SELECT outcome, error_code FROM sms_outbox.message_attempts WHERE message_id = $1', [old.dead]), [
    { outcome: 'permanent', error_code: '21211' },
  ])
  await t.rejects(
    db.sql(`UPDATE sms_outbox.messages SET recipient = NULL, body = NULL, erased_at = now() WHERE id = $1`, [oldPending]),
    { message: /messages_erased_only_when_terminal/ },
  )
})

t.test('after RETENTION_HOURS (0.5 = 30 minutes) nothing personal is left: metadata, key, error texts go; codes, statuses and times stay', async (t) => {
  const db = await createTestDatabase(t)
  const app = await buildTestApp({ config: { DATABASE_URL: db.url, ADMIN_TOKEN }, database: db, logger: silentLog })
  t.teardown(() => app.close())
  const request = { to: '010-1234-5678', text: 'your code is 4821', metadata: { customer: 'kim-ji-woo', orderId: 'A-77' } }
  const ended = async (key: string, minutesAgo: number) => {
    const post = await app.inject({ method: 'POST', url: '/v1/messages', payload: request, headers: { 'idempotency-key': key } })
    const { id } = post.json()
    await db.sql(
      `UPDATE sms_outbox.messages SET status = 'dead', attempts = 2, counted_attempts = 2, last_error_code = '21614',
         last_error = 'number +821012345678 is not a mobile', updated_at = now() - make_interval(mins => $2)
       WHERE id = $1`,
      [id, minutesAgo],
    )
    await db.sql(
      `INSERT INTO sms_outbox.message_attempts (message_id, attempt, started_at, finished_at, outcome, error_code, error_message, http_status, latency_ms)
       VALUES ($1, 1, now(), now(), 'retryable', 'http_503', 'retry later, +821012345678', 503, 12),
              ($1, 2, now(), now(), 'permanent', '21614', 'To number +821012345678 is not a mobile number', 400, 15)`,
      [id],
    )
    return id
  }
  const old = await ended('order-9-kim-ji-woo', 40)
  const recent = await ended('order-10-kim-ji-woo', 20)
  const before = (await db.sql('SELECT created_at, updated_at, idempotency_key FROM sms_outbox.messages WHERE id = $1', [old]))[0]

  t.equal((await eraseOldPersonalData(db.pool, { retentionHours: 0.5, limit: 10 })).count, 1, 'only the row that ended 40 minutes ago')

  const [row] = await db.sql('SELECT * FROM sms_outbox.messages WHERE id = $1', [old])
  t.match(row, {
    status: 'dead', recipient: null, body: null, metadata: null, request_hash: null, last_error: null,
    last_error_code: '21614', attempts: 2, type: 'SMS', bytes: 17, erased_at: Date,
  })
  t.same([row.created_at, row.updated_at], [before.created_at, before.updated_at], 'timestamps stay as they were')
  t.same(
    await db.sql('SELECT attempt, outcome, error_code, error_message, http_status, latency_ms FROM sms_outbox.message_attempts WHERE message_id = $1 ORDER BY attempt', [old]),
    [
      { attempt: 1, outcome: 'retryable', error_code: 'http_503', error_message: null, http_status: 503, latency_ms: 12 },
      { attempt: 2, outcome: 'permanent', error_code: '21614', error_message: null, http_status: 400, latency_ms: 15 },
    ],
  )
  // Nothing in the row or its attempts names the person: not the number, the text, the
  // metadata, nor the idempotency key (which callers fill with order and user ids).
  const [{ stored }] = await db.sql(
    `SELECT row_to_json(m)::text || coalesce((SELECT json_agg(a)::text FROM sms_outbox.message_attempts a WHERE a.message_id = m.id), '') AS stored
     FROM sms_outbox.messages m WHERE id = $1`,
    [old],
  )
  t.notMatch(stored, /1012345678|4821|kim-ji-woo|A-77|order-9/)
  t.equal(row.idempotency_key, before.idempotency_key, 'the key was stored as a hash from the start, and the hash stays')

  const [kept] = await db.sql('SELECT recipient, metadata, last_error FROM sms_outbox.messages WHERE id = $1', [recent])
  t.match(kept, { recipient: '+821012345678', metadata: request.metadata, last_error: /not a mobile/ }, '20 minutes old: kept')

  // The hash keeps deduplicating: a replay of the key after erasure gets the erased message.
  const replay = await app.inject({ method: 'POST', url: '/v1/messages', payload: request, headers: { 'idempotency-key': 'order-9-kim-ji-woo' } })
  t.equal(replay.statusCode, 200)
  t.match(replay.json(), { id: old, to: null })
  t.equal((await db.sql('SELECT count(*)::int AS n FROM sms_outbox.messages'))[0].n, 2, 'nothing new was written')
  await t.rejects(db.sql(`UPDATE sms_outbox.messages SET metadata = '{"a": 1}' WHERE id = $1`, [old]), { message: /messages_erased_keeps_nothing_personal/ })
})

t.test('an erased message reads as erased everywhere and cannot be retried', async (t) => {
  const db = await createTestDatabase(t)
  const app = await buildTestApp({ config: { DATABASE_URL: db.url, ADMIN_TOKEN }, database: db, logger: silentLog })
  t.teardown(() => app.close())
  const message = prepareMessage({ to: '010-1234-5678', text: 'order shipped' }, { defaultMaxRetries: 3, idempotencyKey: 'order-9' })
  const [{ message: stored }] = await enqueueMessages(db.pool, [message], 86_400)
  await db.sql(`UPDATE sms_outbox.messages SET status = 'dead', updated_at = now() - interval '1000 hours' WHERE id = $1`, [stored.id])
  await eraseOldPersonalData(db.pool, { retentionHours: 168, limit: 10 })

  const headers = { authorization: `Bearer ${ADMIN_TOKEN}` }
  const detail = await app.inject({ url: `/v1/admin/messages/${stored.id}`, headers })
  t.match(detail.json(), { to: null, text: null, status: 'dead', erasedAt: String })
  t.match((await app.inject({ url: `/v1/messages/${stored.id}` })).json(), { to: null, text: null })
  const retry = await app.inject({ method: 'POST', url: `/v1/admin/messages/${stored.id}/retry`, headers })
  t.equal(retry.statusCode, 409)
  t.match(retry.json(), { message: /erased by the retention job/ })
  // The fingerprint went with the number: a replay of the old key gets the erased message back.
  const replay = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    payload: { to: '010-1234-5678', text: 'order shipped' },
    headers: { 'idempotency-key': 'order-9' },
  })
  t.equal(replay.statusCode, 200)
  t.match(replay.json(), { id: stored.id, to: null })
})

t.test('the logger redacts credentials, cookies and message bodies', async (t) => {
  let output = ''
  const sink = new Writable({
    write(chunk, _encoding, done) {
      output += chunk
      done()
    },
  })
  const log = createLogger('info', sink)
  log.info({
    req: { headers: { authorization: 'Bearer secret-token-123', cookie: 'sms_outbox_admin=abc' } },
    body: { to: '+821012345678', text: 'your code is 4821', messages: [{ to: '+821098765432', text: 'hi' }] },
  })
  t.notMatch(output, /secret-token-123|sms_outbox_admin=abc|1012345678|1098765432|4821/)
  t.match(output, /\[redacted\]/)
})

t.test('housekeeping deletes expired admin sessions and failed logins past the minute, and nothing newer', async (t) => {
  const db = await createTestDatabase(t)
  await db.sql(`INSERT INTO sms_outbox.admin_sessions (session_hash, expires_at) VALUES ('expired', now() - interval '1 second'), ('live', now() + interval '1 hour')`)
  await db.sql(
    `INSERT INTO sms_outbox.admin_login_failures (client_address, failed_at)
     VALUES ('192.0.2.1', now() - interval '2 minutes'), ('192.0.2.2', now() - interval '10 seconds')`,
  )
  const run = await runHousekeeping(db, { retentionHours: 168, pruneAfterHours: 0 })
  t.equal(run.staleAdminRows, 2)
  t.same(await db.sql('SELECT session_hash FROM sms_outbox.admin_sessions'), [{ session_hash: 'live' }])
  t.same(await db.sql('SELECT client_address FROM sms_outbox.admin_login_failures'), [{ client_address: '192.0.2.2' }], 'a failure the login limit still counts stays')
})
