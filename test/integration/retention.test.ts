import { Writable } from 'node:stream'
import t from 'tap'
import { buildApp } from '../../src/http/app.ts'
import { createLogger } from '../../src/logger.ts'
import { enqueueMessages } from '../../src/outbox/enqueue.ts'
import { prepareMessage } from '../../src/outbox/prepare-message.ts'
import { eraseOldPersonalData } from '../../src/outbox/retention.ts'
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

  t.equal(await eraseOldPersonalData(db.prisma, { retentionHours: 168, limit: 2 }), 2, 'a batch at most')
  t.equal(await eraseOldPersonalData(db.prisma, { retentionHours: 168, limit: 100 }), 2)
  t.equal(await eraseOldPersonalData(db.prisma, { retentionHours: 168, limit: 100 }), 0, 'nothing twice')

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

t.test('an erased message reads as erased everywhere and cannot be retried', async (t) => {
  const db = await createTestDatabase(t)
  const app = await buildApp({ config: { DATABASE_URL: db.url, ADMIN_TOKEN }, database: db, logger: silentLog })
  t.teardown(() => app.close())
  const message = prepareMessage({ to: '010-1234-5678', text: 'order shipped' }, { defaultMaxRetries: 3, idempotencyKey: 'order-9' })
  const [{ message: stored }] = await enqueueMessages(db.pool, [message], 86_400)
  await db.sql(`UPDATE sms_outbox.messages SET status = 'dead', updated_at = now() - interval '1000 hours' WHERE id = $1`, [stored.id])
  await eraseOldPersonalData(db.prisma, { retentionHours: 168, limit: 10 })

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
