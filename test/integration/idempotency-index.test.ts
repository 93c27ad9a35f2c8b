// The unique index on idempotency keys covers the keys alone (migration
// 20261207030000_partial_idempotency_index, which runs outside a transaction): keyless
// messages write nothing to it, keys stay unique, and the swap from the index of every
// row completes from wherever an interrupted run left it, with processes booting at once.
import t, { type Test } from 'tap'
import { applyMigrations } from '../../src/db/migrations.ts'
import { enqueueEach, enqueueMessages, type Enqueued } from '../../src/outbox/enqueue/enqueue.ts'
import { prepareMessage } from '../../src/outbox/enqueue/prepare-message.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

const MIGRATION = '20261207030000_partial_idempotency_index'
const KEYS_ONLY = 'CREATE UNIQUE INDEX messages_idempotency_key_key ON sms_outbox.messages USING btree (idempotency_key) WHERE (idempotency_key IS NOT NULL)'

const message = (text: string, idempotencyKey?: string) =>
  ({ ...prepareMessage({ to: '010-1234-5678', text }, { defaultMaxRetries: 3, idempotencyKey }), requestHash: text })

/** Every index of messages on idempotency_key, by name: its definition and whether it is valid. */
async function idempotencyIndexes(db: TestDatabase) {
  return db.sql<{ name: string; definition: string; valid: boolean }>(
    `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition, i.indisvalid AS valid
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE i.indrelid = 'sms_outbox.messages'::regclass AND pg_get_indexdef(i.indexrelid) LIKE '%(idempotency_key)%'
     ORDER BY 1`,
  )
}

t.test('keyless messages add nothing to the idempotency index; keys stay unique', async (t) => {
  const db = await createTestDatabase(t)
  t.same(await idempotencyIndexes(db), [{ name: 'messages_idempotency_key_key', definition: KEYS_ONLY, valid: true }])
  await enqueueMessages(db.pool, Array.from({ length: 1_000 }, (_, i) => message(`keyless ${i}`)), 3_600)
  const [{ bytes }] = await db.sql(`SELECT pg_relation_size('sms_outbox.messages_idempotency_key_key')::int AS bytes`)
  t.equal(bytes, 8192, 'the index is its metapage alone after 1,000 keyless messages')
  await assertKeysUnique(t, db)
})

/** A key used twice: the second enqueue finds the first message instead of writing one. */
async function assertKeysUnique(t: Test, db: TestDatabase) {
  const [first] = (await enqueueEach(db.pool, [message('keyed', 'order-1')], [3_600])) as Enqueued[]
  const [again] = (await enqueueEach(db.pool, [message('keyed', 'order-1')], [3_600])) as Enqueued[]
  t.equal(first.created, true)
  t.same([again.created, again.message.id], [false, first.message.id], 'the repeated key finds the first message')
  t.equal((await db.sql(`SELECT count(*)::int AS n FROM sms_outbox.messages WHERE idempotency_key IS NOT NULL`))[0].n, 1)
}

/** A database as the release before left it: the index of every row, this migration not recorded; a keyed message in it. */
async function beforeTheSwap(t: Test): Promise<TestDatabase> {
  const db = await createTestDatabase(t)
  await db.sql(`DROP INDEX sms_outbox.messages_idempotency_key_key`)
  await db.sql(`CREATE UNIQUE INDEX messages_idempotency_key_key ON sms_outbox.messages (idempotency_key)`)
  await db.sql(`DELETE FROM sms_outbox._prisma_migrations WHERE migration_name = $1`, [MIGRATION])
  await enqueueEach(db.pool, [message('keyed', 'order-1'), message('keyless')], [3_600, 3_600])
  return db
}

const interruptions: Record<string, (db: TestDatabase) => Promise<unknown>> = {
  'nothing yet': async () => {},
  'during the build (its index left invalid)': async (db) => {
    await db.sql(`CREATE UNIQUE INDEX messages_idempotency_key_new ON sms_outbox.messages (idempotency_key) WHERE idempotency_key IS NOT NULL`)
    await db.sql(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'sms_outbox.messages_idempotency_key_new'::regclass`)
  },
  'after the build': (db) =>
    db.sql(`CREATE UNIQUE INDEX messages_idempotency_key_new ON sms_outbox.messages (idempotency_key) WHERE idempotency_key IS NOT NULL`),
  'after the swap, the old index still there': async (db) => {
    await db.sql(`ALTER INDEX sms_outbox.messages_idempotency_key_key RENAME TO messages_idempotency_key_old`)
    await db.sql(`CREATE UNIQUE INDEX messages_idempotency_key_key ON sms_outbox.messages (idempotency_key) WHERE idempotency_key IS NOT NULL`)
  },
  'after the last statement, before the migration was recorded': async (db) => {
    await db.sql(`DROP INDEX sms_outbox.messages_idempotency_key_key`)
    await db.sql(`CREATE UNIQUE INDEX messages_idempotency_key_key ON sms_outbox.messages (idempotency_key) WHERE idempotency_key IS NOT NULL`)
  },
}

for (const [when, interrupt] of Object.entries(interruptions)) {
  t.test(`the swap completes when a run was interrupted ${when}`, async (t) => {
    const db = await beforeTheSwap(t)
    await interrupt(db)
    t.same(await applyMigrations(db.url), [MIGRATION])
    t.same(await idempotencyIndexes(db), [{ name: 'messages_idempotency_key_key', definition: KEYS_ONLY, valid: true }], 'one index, on the keys alone')
    const [again] = (await enqueueEach(db.pool, [message('keyed', 'order-1')], [3_600])) as Enqueued[]
    t.equal(again.created, false, 'a key stored before the swap is still found')
  })
}

t.test('processes that boot together while the index is built all start (no deadlock behind the migration lock)', async (t) => {
  const db = await beforeTheSwap(t)
  const runs = await Promise.all([applyMigrations(db.url), applyMigrations(db.url), applyMigrations(db.url)])
  t.same(runs.flat(), [MIGRATION], 'one process migrated; the others found nothing left to do')
  t.same(await idempotencyIndexes(db), [{ name: 'messages_idempotency_key_key', definition: KEYS_ONLY, valid: true }])
})
