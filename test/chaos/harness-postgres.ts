import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { startEmbeddedPostgres, type OwnedPostgres } from '../../src/db/embedded-postgres.ts'
import { applyMigrations } from '../../src/db/migrations.ts'

/** Every scenario's database is a clone of this one, migrated once per run. */
const TEMPLATE = 'chaos_template'

/**
 * The harness's own PostgreSQL: a temporary data directory and a port nobody else uses,
 * so that scenario 7 can restart it (fast or immediate) without disturbing any other test
 * or the server `npm test` runs.
 */
export interface HarnessPostgres {
  /** Connection string for `database` (default `postgres`). */
  url(database?: string): string
  readonly port: number
  /** The temporary data directory, removed by stop(). */
  readonly dataDir: string
  /** The postmaster's pid right now (it changes on every restart). */
  readonly pid: number
  /**
   * Stops the server and starts it again on the same port and data. `fast` is SIGINT
   * (sessions ended, checkpoint); `immediate` is SIGQUIT (no checkpoint, crash recovery at
   * the next start: what a kill of the database host looks like to the clients).
   * `downMs` is how long it stays down.
   */
  restart(mode: 'fast' | 'immediate', downMs?: number): Promise<void>
  /** A fresh database cloned from the migrated template; returns its URL. */
  createDatabase(name: string): Promise<string>
  stop(): Promise<void>
}

export async function startHarnessPostgres(): Promise<HarnessPostgres> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sms-outbox-chaos-'))
  let server: OwnedPostgres
  try {
    server = await startEmbeddedPostgres({ dataDir })
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
  const port = Number(new URL(server.url()).port)
  // Process crashes are what the harness injects, not host crashes: a write that reached the
  // OS survives a killed postmaster, so fsync buys nothing here and costs the drains a lot
  // on a shared disk. synchronous_commit stays on: with it off, an immediate restart could
  // drop commits the API already answered 2xx for, a loss the service never caused.
  // Autovacuum every second so that scenario 20's dead tuples can go back to baseline.
  await adminQuery(server.url(), [
    `ALTER SYSTEM SET fsync = off`,
    `ALTER SYSTEM SET full_page_writes = off`,
    `ALTER SYSTEM SET autovacuum_naptime = 1`,
    `ALTER SYSTEM SET max_connections = 300`,
  ])
  // max_connections needs a restart: four dispatchers and an API at 10 connections each,
  // plus the harness, would crowd the default 100 in scenario 4.
  await server.stop()
  server = await startEmbeddedPostgres({ dataDir, port })
  await adminQuery(server.url(), [`DROP DATABASE IF EXISTS ${TEMPLATE}`, `CREATE DATABASE ${TEMPLATE}`])
  await applyMigrations(withDatabase(server.url(), TEMPLATE))

  return {
    url: (database) => server.url(database),
    port,
    dataDir,
    get pid() {
      return server.pid
    },
    async restart(mode, downMs = 0) {
      if (mode === 'immediate') process.kill(server.pid, 'SIGQUIT')
      // stop() waits for the exit; after SIGQUIT its SIGINT is ignored by a dying postmaster.
      await server.stop()
      if (downMs > 0) await new Promise((done) => setTimeout(done, downMs))
      server = await startEmbeddedPostgres({ dataDir, port })
    },
    async createDatabase(name) {
      // FORCE: a scenario that failed may have left connections behind.
      await adminQuery(server.url(), [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, `CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`])
      return withDatabase(server.url(), name)
    },
    async stop() {
      await server.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** `serverUrl` with its database replaced. */
export function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

async function adminQuery(url: string, statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    for (const statement of statements) await client.query(statement)
  } finally {
    await client.end()
  }
}
