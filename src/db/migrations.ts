import { createHash, randomUUID } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { moveLegacyLayout } from './legacy-layout.ts'
import { OUTBOX_SCHEMA } from './outbox-schema.ts'

/** `prisma/migrations`, where `prisma migrate diff` output is committed (the same path from src/ and dist/). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url))

// Any constant works; it only has to be the same in every process of this service.
const MIGRATION_LOCK_KEY = 7_301_202_611

/** The outbox's own migration history: never the host application's `public._prisma_migrations`. */
const HISTORY = `"${OUTBOX_SCHEMA}"."_prisma_migrations"`

/** Prisma's migration history table, column for column, so that `prisma migrate status` reads ours. */
export const MIGRATION_HISTORY_COLUMNS = `(
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`

export interface Migration {
  name: string
  sql: string
  checksum: string
}

/**
 * A migration whose first line is this runs outside a transaction, one statement at a
 * time, statements parted by lines of STATEMENT_BREAKPOINT: what `CREATE INDEX
 * CONCURRENTLY` needs. Each of its statements must be safe to run again, since an
 * interruption leaves the ones before it applied and the migration unrecorded.
 */
const NO_TRANSACTION = '-- no-transaction'
const STATEMENT_BREAKPOINT = '-- statement-breakpoint'

/** How often a process waits for another's migration to end asks again. */
const LOCK_RETRY_MS = 100

/**
 * Applies the migrations in `prisma/migrations` that the database lacks, each in its own
 * transaction (or, marked `-- no-transaction`, statement by statement), and records them
 * in `sms_outbox._prisma_migrations` (Prisma's table layout, so that `prisma migrate
 * status` agrees). Everything lands in the schema `sms_outbox`: the migration files name
 * their tables unqualified, and each runs with `search_path = sms_outbox` for its own
 * duration, so a host application's `public` schema and its own migration history are
 * never touched. A database from before the schema existed
 * (the outbox in `public`) is moved over first, in one transaction (legacy-layout.ts).
 *
 * Why not `prisma migrate deploy`: offline, Prisma 6.19 can only migrate through
 * `@prisma/adapter-pg`, whose script runner splits a migration on every `;` (inside
 * comments and function bodies too) and applies the pieces outside a transaction, so a
 * failure leaves half a migration behind. PostgreSQL runs DDL transactionally; this uses it.
 */
export async function applyMigrations(databaseUrl: string): Promise<string[]> {
  const migrations = await readMigrations()
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    // Several processes may boot at once (api and worker); one migrates, the others wait.
    // They wait by asking again, not inside pg_advisory_lock: a session blocked in a
    // statement holds a snapshot, and CREATE INDEX CONCURRENTLY in the migrating session
    // waits for every older snapshot to end, which would be a deadlock.
    while (!(await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK_KEY])).rows[0].locked) {
      await sleep(LOCK_RETRY_MS)
    }
    await inTransaction(client, async () => {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${OUTBOX_SCHEMA}"`)
      await client.query(`CREATE TABLE IF NOT EXISTS ${HISTORY} ${MIGRATION_HISTORY_COLUMNS}`)
      await moveLegacyLayout(client, migrations.map((migration) => migration.name))
    })
    const applied = await appliedChecksums(client)
    const newlyApplied: string[] = []
    for (const migration of migrations) {
      const checksum = applied.get(migration.name)
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw new Error(
            `migration ${migration.name} was edited after it was applied; add a new migration instead`,
          )
        }
        continue
      }
      const record = () =>
        client.query(
          `INSERT INTO ${HISTORY} (id, checksum, finished_at, migration_name, applied_steps_count)
           VALUES ($1, $2, now(), $3, 1)`,
          [randomUUID(), migration.checksum, migration.name],
        )
      try {
        if (migration.sql.startsWith(NO_TRANSACTION)) {
          await client.query(`SET search_path = "${OUTBOX_SCHEMA}"`)
          try {
            for (const statement of statementsOf(migration.sql)) await client.query(statement)
          } finally {
            await client.query('RESET search_path')
          }
          await record()
        } else {
          await inTransaction(client, async () => {
            // LOCAL: the setting ends with the transaction, so nothing after it resolves
            // unqualified names into the outbox by accident.
            await client.query(`SET LOCAL search_path = "${OUTBOX_SCHEMA}"`)
            await client.query(migration.sql)
            await record()
          })
        }
      } catch (error) {
        throw new Error(`migration ${migration.name} failed: ${(error as Error).message}`, {
          cause: error,
        })
      }
      newlyApplied.push(migration.name)
    }
    return newlyApplied
  } finally {
    await client.end()
  }
}

/** Names of the committed migrations that the database has not applied. */
export async function pendingMigrations(query: pg.Pool | pg.Client): Promise<string[]> {
  const migrations = await readMigrations()
  const applied = await appliedChecksums(query)
  return migrations.filter((migration) => !applied.has(migration.name)).map((m) => m.name)
}

async function appliedChecksums(query: pg.Pool | pg.Client): Promise<Map<string, string>> {
  const exists = await query.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [HISTORY])
  if (!exists.rows[0].ok) return new Map()
  const result = await query.query<{ migration_name: string; checksum: string }>(
    `SELECT migration_name, checksum FROM ${HISTORY}
     WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  )
  return new Map(result.rows.map((row) => [row.migration_name, row.checksum]))
}

/** The statements of a no-transaction migration, without the parts that are comments alone. */
export function statementsOf(sql: string): string[] {
  return sql
    .split(new RegExp(`^${STATEMENT_BREAKPOINT}\\s*$`, 'm'))
    .filter((part) => part.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--')))
}

async function inTransaction(client: pg.Client, work: () => Promise<void>): Promise<void> {
  await client.query('BEGIN')
  try {
    await work()
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK')
    throw error
  }
}

export async function readMigrations(): Promise<Migration[]> {
  const entries = await readdir(MIGRATIONS_DIR, { withFileTypes: true })
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort()
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(MIGRATIONS_DIR, name, 'migration.sql'), 'utf8')
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') }
    }),
  )
}
