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
  const serverUrl = process.env.TEST_DATABASE_URL
  if (!serverUrl) throw new Error('TEST_DATABASE_URL is unset: run the suite with `npm test`')
  const name = `test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`)
  await admin.end()

  const url = databaseUrl(serverUrl, name)
  const database = connectDatabase(url, { poolSize: 5 })
  t.teardown(async () => {
    await database.close()
    const cleanup = new pg.Client({ connectionString: serverUrl })
    await cleanup.connect()
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await cleanup.end()
  })
  return {
    ...database,
    url,
    sql: async (text, values) => (await database.pool.query(text, values)).rows,
  }
}
