import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { startEmbeddedPostgres, type OwnedPostgres } from '../src/db/embedded-postgres.ts'

/** The PostgreSQL server every system in one bench run shares. */
export interface BenchServer {
  /** `embedded` or the host of DATABASE_URL. */
  kind: string
  /** `server_version` as the server reports it. */
  version: string
  /** The embedded server's process, whose CPU time the bench reports. */
  pid: number | undefined
  /** A fresh database on this server, dropped by `close()`. */
  createDatabase(suffix: string): Promise<string>
  /** Drops a database made by createDatabase now, so that no autovacuum of it runs during a later phase. */
  dropDatabase(url: string): Promise<void>
  /**
   * Before a phase: a CHECKPOINT now rather than during the phase, then up to `maxWaitMs`
   * for autovacuum workers to finish. Skipped where this user may not (a server of yours).
   */
  settle(maxWaitMs: number): Promise<void>
  /** Runs SQL on `database` with a short-lived client. */
  sql<T extends pg.QueryResultRow = Record<string, any>>(url: string, text: string, values?: unknown[]): Promise<T[]>
  close(): Promise<void>
}

/** Runs SQL on the database of `url` with a short-lived client. */
export async function sql<T extends pg.QueryResultRow = Record<string, any>>(
  url: string,
  text: string,
  values?: unknown[],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<T>(text, values)).rows
  } finally {
    await client.end()
  }
}

/** `url` with its database replaced. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/**
 * An embedded PostgreSQL in a temporary directory, or the server of `serverUrl` (which
 * must let this user create databases). Databases are named after `runId`, so runs can
 * share a server (the smoke test runs beside the rest of the suite).
 */
export async function openBenchServer(serverUrl: string | undefined, runId: string): Promise<BenchServer> {
  let embedded: OwnedPostgres | undefined
  let dataDir: string | undefined
  if (!serverUrl) {
    dataDir = mkdtempSync(join(tmpdir(), 'sms-outbox-bench-'))
    embedded = await startEmbeddedPostgres({ dataDir })
    serverUrl = embedded.url()
    // It runs in a process group of its own: stop it even if the bench dies.
    const { pid } = embedded
    process.once('exit', () => {
      try {
        process.kill(pid, 'SIGINT')
      } catch {
        // already stopped
      }
    })
  }
  const server = serverUrl
  const created: string[] = []
  const [{ server_version: version }] = await sql<{ server_version: string }>(server, 'SHOW server_version')
  return {
    kind: embedded ? 'embedded' : new URL(server).host,
    version,
    pid: embedded?.pid,
    async createDatabase(suffix) {
      const name = `bench_${runId}_${suffix}`
      await sql(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await sql(server, `CREATE DATABASE ${name}`)
      created.push(name)
      return withDatabase(server, name)
    },
    async dropDatabase(url) {
      const name = new URL(url).pathname.slice(1)
      await sql(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      created.splice(created.indexOf(name), 1)
    },
    async settle(maxWaitMs) {
      try {
        await sql(server, 'CHECKPOINT')
        const deadline = performance.now() + maxWaitMs
        while (performance.now() < deadline) {
          const [{ n }] = await sql<{ n: number }>(
            server,
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'`,
          )
          if (n === 0) break
          await new Promise((done) => setTimeout(done, 250))
        }
      } catch {
        // Not a superuser on a server of yours: measure without settling.
      }
    },
    sql,
    async close() {
      try {
        for (const name of created) await sql(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {})
      } finally {
        await embedded?.stop()
        if (dataDir) rmSync(dataDir, { recursive: true, force: true })
      }
    },
  }
}

const PGBENCH_CANDIDATES = [
  process.env.PGBENCH,
  '/usr/lib/postgresql/18/bin/pgbench',
  '/usr/lib/postgresql/17/bin/pgbench',
  '/usr/lib/postgresql/16/bin/pgbench',
  '/usr/lib/postgresql/15/bin/pgbench',
  '/usr/bin/pgbench',
]

/** pgbench from the environment (PGBENCH) or a Debian PostgreSQL package; the embedded package ships none. */
export function findPgbench(): string | undefined {
  return PGBENCH_CANDIDATES.find((path): path is string => path !== undefined && existsSync(path))
}

const run = promisify(execFile)

/** One pgbench run of a custom script; returns its transactions per second. */
export async function pgbench(
  binary: string,
  url: string,
  { script, clients, threads, seconds }: { script: string; clients: number; threads: number; seconds: number },
): Promise<number> {
  const { stdout } = await run(
    binary,
    ['-n', '-M', 'prepared', '-c', String(clients), '-j', String(threads), '-T', String(seconds), '-f', script, url],
    { maxBuffer: 1 << 20 },
  )
  const match = stdout.match(/tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)/)
  if (!match) throw new Error(`pgbench printed no tps:\n${stdout}`)
  return Number(match[1])
}
