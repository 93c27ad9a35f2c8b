import pg from 'pg'
import { pino } from 'pino'
import t from 'tap'
import { buildTestApp } from '../helpers/test-app.ts'
import { runHousekeeping, startHousekeeping } from '../../src/outbox/housekeeping/housekeeping.ts'
import { compactIfMostlyPruned } from '../../src/outbox/housekeeping/compact-indexes.ts'
import { pruneTerminalMessages } from '../../src/outbox/housekeeping/prune-terminal.ts'
import { enqueue, silentLog } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

const ADMIN_TOKEN = 'test-admin-token-0123456789'
const TERMINAL = ['sent', 'dead', 'expired', 'canceled']
// Retention never gets in the way of what these tests look at.
const KEEP_PERSONAL_DATA = 876_000

/** A message in `status` whose last change was `hoursAgo`, with one attempt; returns its id. */
async function lastChanged(db: TestDatabase, status: string, hoursAgo: number, key?: string): Promise<string> {
  const id = await enqueue(db, { text: `${status} ${hoursAgo}h` }, key === undefined ? {} : { idempotencyKey: key })
  await db.sql(
    `UPDATE sms_outbox.messages SET status = $2, attempts = 1, counted_attempts = 1,
       sent_at = CASE WHEN $2 = 'sent' THEN now() - make_interval(secs => $3::float8 * 3600) END,
       lease_token = CASE WHEN $2 = 'sending' THEN gen_random_uuid() END,
       locked_until = CASE WHEN $2 = 'sending' THEN now() - make_interval(secs => $3::float8 * 3600) END,
       updated_at = now() - make_interval(secs => $3::float8 * 3600)
     WHERE id = $1`,
    [id, status, hoursAgo],
  )
  await db.sql(
    `INSERT INTO sms_outbox.message_attempts (message_id, attempt, started_at, finished_at, outcome, error_code)
     VALUES ($1, 1, now(), now(), 'permanent', '21211')`,
    [id],
  )
  return id
}

async function remaining(db: TestDatabase, ids: string[]): Promise<{ messages: string[]; attempts: string[] }> {
  const messages = await db.sql('SELECT id FROM sms_outbox.messages WHERE id = ANY($1::uuid[]) ORDER BY id', [ids])
  const attempts = await db.sql('SELECT message_id FROM sms_outbox.message_attempts WHERE message_id = ANY($1::uuid[]) ORDER BY message_id', [ids])
  return { messages: messages.map((row) => row.id), attempts: attempts.map((row) => row.message_id) }
}

t.test('terminal messages past PRUNE_AFTER_HOURS go with their attempts; pending, sending and recent ones stay', async (t) => {
  const db = await createTestDatabase(t)
  const old = await Promise.all(TERMINAL.map((status) => lastChanged(db, status, 31 * 24)))
  const oldPending = await lastChanged(db, 'pending', 90 * 24)
  const oldSending = await lastChanged(db, 'sending', 90 * 24)
  const recent = await Promise.all(TERMINAL.map((status) => lastChanged(db, status, 29 * 24)))
  // What else points at a message: an admin action goes with it, a suppression stays.
  await db.sql(`INSERT INTO sms_outbox.admin_actions (actor, action, message_id) VALUES ('alice', 'cancel', $1)`, [old[3]])
  await db.sql(`INSERT INTO sms_outbox.suppressions (recipient, reason, message_id) VALUES ('+821099998888', 'opted_out', $1)`, [old[1]])

  const run = await runHousekeeping(db, { retentionHours: KEEP_PERSONAL_DATA, pruneAfterHours: 720 })
  t.equal(run.pruned, 4)
  const kept = [oldPending, oldSending, ...recent].sort()
  t.same(await remaining(db, [...old, ...kept]), { messages: kept, attempts: kept })
  t.same(await db.sql('SELECT count(*)::int AS n FROM sms_outbox.admin_actions'), [{ n: 0 }])
  t.same(await db.sql('SELECT recipient, message_id FROM sms_outbox.suppressions'), [{ recipient: '+821099998888', message_id: null }])
  t.equal((await runHousekeeping(db, { retentionHours: KEEP_PERSONAL_DATA, pruneAfterHours: 720 })).pruned, 0, 'nothing twice')
})

t.test('fractions of an hour count, and PRUNE_AFTER_HOURS=0 deletes nothing', async (t) => {
  const db = await createTestDatabase(t)
  const fortyMinutes = await lastChanged(db, 'sent', 40 / 60)
  const twentyMinutes = await lastChanged(db, 'sent', 20 / 60)
  const ancient = await lastChanged(db, 'dead', 10 * 365 * 24)
  t.equal((await runHousekeeping(db, { retentionHours: KEEP_PERSONAL_DATA, pruneAfterHours: 0 })).pruned, 0)
  t.equal((await runHousekeeping(db, { retentionHours: KEEP_PERSONAL_DATA, pruneAfterHours: 0.5 })).pruned, 2)
  t.same((await remaining(db, [fortyMinutes, twentyMinutes, ancient])).messages, [twentyMinutes])
})

t.test('batches: a statement takes at most its limit, and a run goes on, batch after batch, until none is left', async (t) => {
  const db = await createTestDatabase(t)
  const ids = []
  for (let day = 31; day < 36; day += 1) ids.push(await lastChanged(db, 'sent', day * 24))
  const first = await pruneTerminalMessages(db.pool, { pruneAfterHours: 720, limit: 2 })
  t.equal(first.count, 2)
  t.same((await remaining(db, ids)).messages.length, 3, 'the oldest two went first')
  t.same((await remaining(db, ids)).messages.sort(), ids.slice(0, 3).sort())
  const run = await runHousekeeping(db, { retentionHours: KEEP_PERSONAL_DATA, pruneAfterHours: 720, batchSize: 2 })
  t.equal(run.pruned, 3, 'two batches of 2 and 1')
  t.same(await remaining(db, ids), { messages: [], attempts: [] })
})

t.test('a row another transaction holds is skipped, not waited for; two pruners share the rows without deadlock', async (t) => {
  const db = await createTestDatabase(t)
  const held = await lastChanged(db, 'sent', 40 * 24)
  const free = await lastChanged(db, 'sent', 40 * 24)
  const other = new pg.Client({ connectionString: db.url })
  await other.connect()
  t.teardown(() => other.end())
  await other.query('BEGIN')
  await other.query('SELECT 1 FROM sms_outbox.messages WHERE id = $1 FOR UPDATE', [held])
  // Would hang on the lock without SKIP LOCKED.
  t.equal((await pruneTerminalMessages(db.pool, { pruneAfterHours: 720, limit: 10 })).count, 1)
  t.same((await remaining(db, [held, free])).messages, [held])
  await other.query('COMMIT')
  t.equal((await pruneTerminalMessages(db.pool, { pruneAfterHours: 720, limit: 10 })).count, 1)

  await db.sql(
    `INSERT INTO sms_outbox.messages (recipient, body, type, bytes, max_retries, expires_at, status, sent_at, updated_at)
     SELECT '+821012345678', 'old', 'SMS', 3, 3, now(), 'sent', now() - interval '40 days', now() - interval '40 days' - make_interval(secs => n)
     FROM generate_series(1, 300) AS n`,
  )
  const settings = { retentionHours: KEEP_PERSONAL_DATA, pruneAfterHours: 720, batchSize: 7 }
  const runs = await Promise.all([runHousekeeping(db, settings), runHousekeeping(db, settings), runHousekeeping(db, settings)])
  t.equal(runs.reduce((sum, run) => sum + run.pruned, 0), 300, 'each row deleted once, by one of them')
  t.same(await db.sql('SELECT count(*)::int AS n FROM sms_outbox.messages'), [{ n: 0 }])
})

t.test('after pruning, the message is a 404, its idempotency key is free again, and the stats say where their counts begin', async (t) => {
  const db = await createTestDatabase(t)
  const app = await buildTestApp({ config: { DATABASE_URL: db.url, ADMIN_TOKEN }, database: db, logger: silentLog })
  t.teardown(() => app.close())
  const post = () =>
    app.inject({ method: 'POST', url: '/v1/messages', payload: { to: '010-1234-5678', text: 'order 9 shipped' }, headers: { 'idempotency-key': 'order-9' } })
  const { id } = (await post()).json()
  await db.sql(`UPDATE sms_outbox.messages SET status = 'canceled', updated_at = now() - interval '31 days' WHERE id = $1`, [id])
  t.equal((await post()).statusCode, 200, 'before pruning, a replay')
  t.equal((await app.inject({ url: `/v1/messages/${id}` })).statusCode, 200)

  await runHousekeeping(db, { retentionHours: 168, pruneAfterHours: 720 })
  const gone = await app.inject({ url: `/v1/messages/${id}` })
  t.equal(gone.statusCode, 404)
  t.equal((await app.inject({ url: `/v1/admin/messages/${id}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).statusCode, 404)
  const again = await post()
  t.equal(again.statusCode, 202, 'the key makes a new message')
  t.not(again.json().id, id)

  const stats = (await app.inject({ url: '/v1/admin/stats', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()
  const [{ horizon }] = await db.sql(`SELECT now() - interval '720 hours' AS horizon`)
  const prunedBefore = new Date(stats.prunedBefore).getTime()
  t.ok(prunedBefore <= Date.now() - 720 * 3_600_000 && prunedBefore >= horizon.getTime() - 60_000, 'PRUNE_AFTER_HOURS before the database clock')
  t.same(stats.byStatus, { pending: 1 }, 'the pruned message counts nowhere')

  const never = await buildTestApp({ config: { DATABASE_URL: db.url, ADMIN_TOKEN, PRUNE_AFTER_HOURS: 0 }, database: db, logger: silentLog })
  t.teardown(() => never.close())
  t.equal((await never.inject({ url: '/v1/admin/stats', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json().prunedBefore, null)
})

t.test('the housekeeping loop runs at once when started, retention and pruning together, and stops cleanly', async (t) => {
  const db = await createTestDatabase(t)
  const toErase = await lastChanged(db, 'dead', 10 * 24)
  const toPrune = await lastChanged(db, 'sent', 31 * 24)
  const lines: Record<string, unknown>[] = []
  let ran: () => void
  const done = new Promise<void>((resolve) => (ran = resolve))
  const log = pino({ level: 'info' }, {
    write(line: string) {
      lines.push(JSON.parse(line))
      if (lines.some((l) => 'pruned' in l) && lines.some((l) => 'erased' in l)) ran()
    },
  })
  // An interval no test waits for: only the run at start can do the work.
  const housekeeping = startHousekeeping(db, { retentionHours: 168, pruneAfterHours: 720, intervalMs: 3_600_000, log })
  await done
  await housekeeping.stop()
  // Retention ran first, so the row that was then pruned had been erased too.
  t.match(lines, [{ erased: 2 }, { pruned: 1 }])
  t.same((await remaining(db, [toErase, toPrune])).messages, [toErase])
  t.same(await db.sql('SELECT recipient, erased_at IS NOT NULL AS erased FROM sms_outbox.messages WHERE id = $1', [toErase]), [{ recipient: null, erased: true }])
})

/** `count` messages sent `hoursAgo`, each with its attempt, in one statement; then ANALYZE, as autovacuum would. */
async function sentLongAgo(db: TestDatabase, count: number, hoursAgo: number): Promise<void> {
  await db.sql(
    `WITH sent AS (
       INSERT INTO sms_outbox.messages (status, recipient, body, type, bytes, attempts, counted_attempts, max_retries,
                                        next_attempt_at, expires_at, provider, sent_at, updated_at)
       SELECT 'sent', '+8210' || lpad(g::text, 8, '0'), 'history', 'SMS', 7, 1, 1, 3, t, t + interval '1 day', 'console', t, t
       FROM (SELECT g, now() - make_interval(secs => $2::float8 * 3600) AS t FROM generate_series(1, $1::int) AS g) AS s
       RETURNING id, updated_at
     )
     INSERT INTO sms_outbox.message_attempts (message_id, attempt, started_at, finished_at, outcome)
     SELECT id, 1, updated_at, updated_at, 'ok' FROM sent`,
    [count, hoursAgo],
  )
  await db.sql('ANALYZE sms_outbox.messages')
}

const indexState = async (db: TestDatabase) =>
  (await db.sql(
    `SELECT c.relname AS name, c.relfilenode::text AS file, i.indisvalid AS valid, pg_relation_size(c.oid)::int AS bytes
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'sms_outbox' AND i.indrelid IN ('sms_outbox.messages'::regclass, 'sms_outbox.message_attempts'::regclass)
     ORDER BY c.relname`,
  )) as { name: string; file: string; valid: boolean; bytes: number }[]

t.test('a run that prunes most of the table rebuilds its indexes, and gives their space back', async (t) => {
  const db = await createTestDatabase(t)
  await sentLongAgo(db, 20_000, 31 * 24)
  await sentLongAgo(db, 2_000, 1)
  // What a rebuild cut short leaves behind: an invalid copy named *_ccnew.
  await db.sql('CREATE INDEX messages_pkey_ccnew ON sms_outbox.messages (id)')
  await db.sql(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'sms_outbox.messages_pkey_ccnew'::regclass`)
  const before = await indexState(db)
  const bytesBefore = before.reduce((sum, index) => sum + index.bytes, 0)

  const run = await runHousekeeping(db, { retentionHours: KEEP_PERSONAL_DATA, pruneAfterHours: 720, batchSize: 5_000, pauseFactor: 0, compactFromRows: 10_000 })
  t.equal(run.pruned, 20_000)
  t.same(run.compacted, ['messages', 'message_attempts'])
  const after = await indexState(db)
  t.same(after.map((index) => index.name), before.map((index) => index.name).filter((name) => name !== 'messages_pkey_ccnew'), 'the same indexes, the leftover copy dropped')
  t.ok(after.every((index) => index.valid), 'every index valid')
  const rebuilt = after.filter((index) => before.find((old) => old.name === index.name)?.file !== index.file)
  t.equal(rebuilt.length, after.length, 'every index has a new file')
  const bytesAfter = after.reduce((sum, index) => sum + index.bytes, 0)
  t.ok(bytesAfter < bytesBefore / 3, `indexes ${bytesBefore} -> ${bytesAfter} bytes`)
  t.same(await db.sql(`SELECT count(*)::int AS n FROM sms_outbox.messages`), [{ n: 2_000 }], 'the recent rows are all there')
})

t.test('a run that prunes less than half of the table leaves its indexes alone', async (t) => {
  const db = await createTestDatabase(t)
  await sentLongAgo(db, 8_000, 31 * 24)
  await sentLongAgo(db, 12_000, 1)
  const before = await indexState(db)
  const run = await runHousekeeping(db, { retentionHours: KEEP_PERSONAL_DATA, pruneAfterHours: 720, batchSize: 5_000, pauseFactor: 0, compactFromRows: 10_000 })
  t.equal(run.pruned, 8_000)
  t.same(run.compacted, [])
  t.same(await indexState(db).then((indexes) => indexes.map((index) => index.file)), before.map((index) => index.file), 'no index rebuilt')
})

t.test("the rebuild runs on a connection of its own, free of the pool's timeouts", async (t) => {
  const db = await createTestDatabase(t)
  await sentLongAgo(db, 20_000, 31 * 24)
  await runHousekeeping(db, { retentionHours: KEEP_PERSONAL_DATA, pruneAfterHours: 720, batchSize: 5_000, pauseFactor: 0, compactFromRows: Infinity })
  // A pool whose bounds no REINDEX meets, as the service's 10 s / 15 s bound a big one.
  const strict = new pg.Pool({ connectionString: db.url, query_timeout: 1, statement_timeout: 1 })
  t.teardown(() => strict.end())
  t.same(await compactIfMostlyPruned(strict, 20_000), ['messages', 'message_attempts'])
})
