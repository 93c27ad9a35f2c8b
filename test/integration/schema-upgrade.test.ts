// A database from before the outbox had its own schema (tables in `public`, history in
// `public._prisma_migrations`, maybe shared with the host application's own history)
// upgrades in place: every row of every table ends up in sms_outbox, none lost, and the
// service works on it.
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { createOutbox } from '../../src/library/index.ts'
import { applyMigrations, MIGRATION_HISTORY_COLUMNS, readMigrations } from '../../src/db/migrations.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { runningDispatcher } from '../helpers/outbox-fixture.ts'
import { createEmptyDatabase, openTestDatabase } from '../helpers/test-database.ts'

// The first migration of the sms_outbox layout; everything before it ran in public.
const OWN_SCHEMA_MIGRATION = '20261206000000_own_schema'
const TABLES = ['messages', 'message_attempts', 'provider_pauses', 'provider_limits', 'suppressions', 'admin_actions']

/** The migrations before the schema, applied as the runner of that time did: into public, recorded in public._prisma_migrations. */
async function legacyDatabase(url: string): Promise<string[]> {
  const legacy = (await readMigrations()).filter((migration) => migration.name < OWN_SCHEMA_MIGRATION)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`CREATE TABLE "_prisma_migrations" ${MIGRATION_HISTORY_COLUMNS}`)
    for (const migration of legacy) {
      await client.query('BEGIN')
      await client.query(migration.sql)
      await client.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
         VALUES ($1, $2, now(), $3, 1)`,
        [randomUUID(), migration.checksum, migration.name],
      )
      await client.query('COMMIT')
    }
  } finally {
    await client.end()
  }
  return legacy.map((migration) => migration.name)
}

const id = (n: number) => `00000000-0000-4000-8000-00000000000${n}`

/** A message in every state, with attempts, admin actions, a suppression and a pause: all in public. */
const LEGACY_ROWS = `
  INSERT INTO messages (id, status, recipient, body, type, bytes, attempts, counted_attempts, max_retries,
                        next_attempt_at, locked_until, lease_token, sent_at, expires_at, last_error_code, provider)
  VALUES
    ('${id(1)}', 'pending',  '+821000000001', 'pending retry', 'SMS', 13, 1, 1, 3, now() - interval '1 second', NULL, NULL, NULL, now() + interval '1 day', 'http_503', 'webhook'),
    ('${id(2)}', 'sending',  '+821000000002', 'in flight',     'SMS',  9, 1, 1, 3, now(), now() + interval '1 hour', '${randomUUID()}', NULL, now() + interval '1 day', NULL, 'webhook'),
    ('${id(3)}', 'sent',     '+821000000003', 'sent',          'SMS',  4, 1, 1, 3, now(), NULL, NULL, now(), now() + interval '1 day', NULL, 'webhook'),
    ('${id(4)}', 'dead',     '+821099999999', 'dead',          'SMS',  4, 4, 4, 3, now(), NULL, NULL, NULL, now() + interval '1 day', '21610', 'twilio'),
    ('${id(5)}', 'expired',  '+821000000005', 'expired',       'SMS',  7, 0, 0, 3, now(), NULL, NULL, NULL, now() - interval '1 hour', 'expired', NULL),
    ('${id(6)}', 'canceled', '+821000000006', 'canceled',      'LMS',  8, 0, 0, 3, now(), NULL, NULL, NULL, now() + interval '1 day', 'canceled', NULL);
  INSERT INTO message_attempts (message_id, attempt, finished_at, outcome, error_code, http_status, latency_ms)
  VALUES
    ('${id(1)}', 1, now(), 'retryable', 'http_503', 503, 12),
    ('${id(2)}', 1, NULL, NULL, NULL, NULL, NULL),
    ('${id(3)}', 1, now(), 'ok', NULL, 200, 8),
    ('${id(4)}', 1, now(), 'retryable', 'http_500', 500, 9),
    ('${id(4)}', 2, now(), 'retryable', 'http_500', 500, 9),
    ('${id(4)}', 3, now(), 'retryable', 'http_500', 500, 9),
    ('${id(4)}', 4, now(), 'permanent', '21610', 400, 9);
  INSERT INTO suppressions (recipient, reason, error_code, provider, message_id)
  VALUES ('+821099999999', 'opted_out', '21610', 'twilio', '${id(4)}');
  INSERT INTO provider_pauses (provider, error_code, reason, next_probe_at)
  VALUES ('solapi', 'NotEnoughBalance', 'no balance left', now() + interval '1 hour');
  UPDATE provider_limits SET tokens = 5, first_attempts = 7 WHERE provider = 'webhook';
  INSERT INTO admin_actions (actor, action, message_id, provider, recipient, detail)
  VALUES ('admin-api', 'cancel', '${id(6)}', NULL, NULL, NULL),
         ('cli:ops', 'suppress', NULL, NULL, '+821077777777', '{"reason": "opted_out"}'),
         ('admin-page', 'resume', NULL, 'twilio', NULL, NULL);`

async function snapshot(sql: (text: string) => Promise<Record<string, any>[]>, schema: string) {
  const tables: Record<string, unknown[]> = {}
  for (const table of TABLES) {
    tables[table] = (await sql(`SELECT to_jsonb(t) AS row FROM ${schema}.${table} t ORDER BY to_jsonb(t)::text`)).map((r) => r.row)
  }
  return tables
}

/** The tables and views the committed migrations create, read from their SQL. */
async function createdTables(): Promise<string[]> {
  return (await readMigrations()).flatMap(({ sql }) => [...sql.matchAll(/CREATE (?:TABLE|VIEW) "?(\w+)"?/g)].map((match) => match[1]))
}

/**
 * `before` and `after` on the columns both have, in a stable order: later migrations add
 * columns (with defaults) to the moved tables, and drop some whose values they move
 * elsewhere (checked on their own), which the move itself must not be blamed for.
 */
function onColumnsOf(before: Record<string, unknown[]>, after: Record<string, unknown[]>) {
  const projected: Record<string, unknown[]> = {}
  for (const [table, rows] of Object.entries(before)) {
    const kept = new Set(Object.keys((after[table]?.[0] ?? {}) as object))
    const columns = Object.keys((rows[0] ?? {}) as object).filter((column) => kept.has(column))
    const sorted = (list: unknown[]) =>
      list
        .map((row) => Object.fromEntries(columns.map((column) => [column, (row as Record<string, unknown>)[column]])))
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
    projected[table] = sorted(after[table] ?? [])
    before[table] = sorted(rows)
  }
  return projected
}

const tablesIn = async (sql: (text: string) => Promise<Record<string, any>[]>, schema: string) =>
  (await sql(`SELECT table_name FROM information_schema.tables WHERE table_schema = '${schema}' ORDER BY table_name`)).map((r) => r.table_name)

t.test('a database with the outbox in public moves into sms_outbox with every row, and keeps working', async (t) => {
  const url = await createEmptyDatabase(t)
  const legacyNames = await legacyDatabase(url)
  const db = openTestDatabase(t, url)
  await db.sql(LEGACY_ROWS)
  // The host application shares the database: its own table and its own migration history.
  await db.sql(`CREATE TABLE public.host_things (id int PRIMARY KEY)`)
  await db.sql(`INSERT INTO public._prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)
                VALUES ('host-1', 'host-checksum', now(), '20250101000000_host_init', 1)`)
  const before = await snapshot(db.sql, 'public')
  const historyBefore = await db.sql(`SELECT id, checksum, migration_name FROM public._prisma_migrations
                                      WHERE migration_name <> '20250101000000_host_init' ORDER BY migration_name`)
  t.equal(before.messages.length, 6, 'the legacy database holds a message in each state')

  const applied = await applyMigrations(url)
  t.notOk(applied.some((name) => legacyNames.includes(name)), 'no legacy migration runs again')
  t.ok(applied.includes(OWN_SCHEMA_MIGRATION), 'the migrations since then apply')

  t.same(onColumnsOf(before, await snapshot(db.sql, 'sms_outbox')), before, 'every row of every table is in sms_outbox, unchanged')
  t.same(
    await db.sql(`SELECT provider, slot, first_attempts, retries FROM sms_outbox.retry_budget_counts`),
    [{ provider: 'webhook', slot: 0, first_attempts: 7, retries: 0 }],
    "the retry budget's counts moved out of provider_limits into a slot of their own",
  )
  t.same(await tablesIn(db.sql, 'public'), ['_prisma_migrations', 'host_things'], 'public keeps only the host\'s tables')
  t.same(
    await db.sql(`SELECT id, checksum, migration_name FROM sms_outbox._prisma_migrations
                  WHERE migration_name = ANY($1::text[]) ORDER BY migration_name`, [legacyNames]),
    historyBefore,
    'the outbox\'s history rows moved as they were',
  )
  t.same(
    (await db.sql('SELECT migration_name FROM public._prisma_migrations')).map((r) => r.migration_name),
    ['20250101000000_host_init'],
    'the host\'s history keeps its own row, and only it',
  )
  t.same(await db.sql(`SELECT routine_name FROM information_schema.routines WHERE routine_schema = 'public'`), [], 'no function is left in public')
  t.same(await applyMigrations(url), [], 'a second run finds nothing to do')

  // The sequence moved with its table: a new admin action gets the next id.
  const [{ id: nextId }] = await db.sql(`INSERT INTO sms_outbox.admin_actions (actor, action, provider) VALUES ('t', 'resume', 'webhook') RETURNING id`)
  t.equal(Number(nextId), 4)

  // The library on a host connection with the default search_path, and a dispatcher:
  // the legacy pending message and a new one are both delivered.
  const fake = await startFakeWebhook(t)
  const host = new pg.Client({ connectionString: url })
  await host.connect()
  t.teardown(() => host.end())
  await host.query('BEGIN')
  const { message } = await createOutbox().enqueue(host, { to: '010-1234-5678', text: 'after the move' })
  await host.query('COMMIT')
  const { watch } = runningDispatcher(t, db, fake.url)
  t.equal(await watch.settled(db, id(1)), 'sent', 'the message that was pending in public is sent')
  t.equal(await watch.settled(db, message.id), 'sent', 'a message enqueued after the move is sent')
  t.same(fake.ledger.map((receipt) => receipt.text).sort(), ['after the move', 'pending retry'])
})

t.test('with no history of the host\'s, public._prisma_migrations goes away', async (t) => {
  const url = await createEmptyDatabase(t)
  await legacyDatabase(url)
  await applyMigrations(url)
  const db = openTestDatabase(t, url)
  t.same(await tablesIn(db.sql, 'public'), [], 'nothing of the outbox is left in public')
  t.ok((await tablesIn(db.sql, 'sms_outbox')).includes('messages'))
})

t.test('a fresh database gets everything in sms_outbox and nothing in public', async (t) => {
  const url = await createEmptyDatabase(t)
  await applyMigrations(url)
  const db = openTestDatabase(t, url)
  t.same(await tablesIn(db.sql, 'public'), [])
  t.same(await tablesIn(db.sql, 'sms_outbox'), ['_prisma_migrations', ...(await createdTables())].sort(), 'every table a migration creates')
  const [{ config }] = await db.sql(`SELECT proconfig AS config FROM pg_proc WHERE proname = 'sms_outbox_notify_due'`)
  t.same(config, ['search_path=sms_outbox, pg_catalog'], 'the trigger function resolves names in sms_outbox whoever fires it')
})
