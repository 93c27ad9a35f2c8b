import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { connectDatabase, type Database } from '../../src/db/database.ts'

/** Migrated once per `npm test` run by test/run-with-postgres.ts. */
export const TEMPLATE_DATABASE = 'sms_outbox_template'

/** `serverUrl` with its database name replaced. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface TestDatabase extends Database {
  url: string
  /** Plain SQL for assertions, apart from the code under test. */
  sql<T extends pg.QueryResultRow = Record<string, any>>(text: string, values?: unknown[]): Promise<T[]>
}

/**
 * A fresh database cloned from the migrated template, dropped when `t` ends. Every test
 * file gets its own, so files run in parallel without seeing each other's rows.
 */
export async function createTestDatabase(t: Teardown): Promise<TestDatabase> {
  return openTestDatabase(t, await createDatabase(t, TEMPLATE_DATABASE))
}

/** The code's connections to the database at `url`, with `sql` for assertions; closed when `t` ends. */
export function openTestDatabase(t: Teardown, url: string): TestDatabase {
  const database = connectDatabase(url, { poolSize: 5 })
  // Teardowns run last-registered first: the pool closes before the database is dropped.
  t.teardown(() => database.close())
  return {
    ...database,
    url,
    sql: async (text, values) => (await database.pool.query(text, values)).rows,
  }
}

/** The URL of a new, empty database (no migrations, no schema sms_outbox), dropped when `t` ends. */
export function createEmptyDatabase(t: Teardown): Promise<string> {
  return createDatabase(t, 'template1')
}

async function createDatabase(t: Teardown, template: string): Promise<string> {
  const serverUrl = process.env.TEST_DATABASE_URL
  if (!serverUrl) throw new Error('TEST_DATABASE_URL is unset: run the suite with `npm test`')
  const name = `test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`)
  await admin.end()
  t.teardown(async () => {
    const cleanup = new pg.Client({ connectionString: serverUrl })
    await cleanup.connect()
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await cleanup.end()
  })
  return databaseUrl(serverUrl, name)
}
