import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Config } from '../config.ts'
import { dataDirOwner } from '../db/data-dir-owner.ts'
import { embeddedPostgresUrl, startEmbeddedPostgres, type OwnedPostgres } from '../db/embedded-postgres.ts'
import { CommandFailed } from './command.ts'
import { runningServerOn, type RunningServer } from '../db/running-embedded-server.ts'

/** Where a command's database came from; admin commands treat an embedded one they own differently. */
export type ServerSource = 'DATABASE_URL' | 'running embedded server' | 'embedded server started for this command'

// How long to wait for a server that is still starting (an `npm start` booting right now).
const STARTING_WAIT_MS = 15_000

// What stops a command; it exits as a shell expects of a process killed by them (128 + n).
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }

/**
 * Runs `use` with a connection string, as the service would find its database:
 * DATABASE_URL when set; else the embedded server in DATA_DIR, the one `npm start` is
 * running if there is one, or else one started here for the duration of `use`.
 */
export async function withDatabaseServer<T>(
  config: Config,
  use: (url: string, source: ServerSource) => Promise<T>,
): Promise<T> {
  if (config.DATABASE_URL) return use(config.DATABASE_URL, 'DATABASE_URL')

  const dataDir = resolve(config.DATA_DIR)
  const running = existsSync(dataDir) ? await liveOwnersServer(dataDir) : undefined
  if (running) return use(embeddedPostgresUrl(dataDir, running.port), 'running embedded server')

  if (!existsSync(resolve(dataDir, 'PG_VERSION'))) {
    // DATA_DIR is relative to the current directory: say so before creating an empty
    // database where the user perhaps expected theirs.
    console.error(`no database in ${dataDir} yet: creating one (set DATA_DIR or DATABASE_URL to use another)`)
  }
  return withOwnedServer(dataDir, (url) => use(url, 'embedded server started for this command'))
}

/**
 * Starts the embedded server on `dataDir`, runs `use`, stops the server. Whatever ends
 * the command stops the server too: it runs in its own process group, so the terminal's
 * Ctrl-C never reaches it, and left running it would lock DATA_DIR against the next
 * `npm start`.
 */
async function withOwnedServer<T>(dataDir: string, use: (url: string) => Promise<T>): Promise<T> {
  let server: OwnedPostgres | undefined
  let interruptedBy: NodeJS.Signals | undefined
  const exitAfterStop = () => process.exit(128 + SIGNAL_NUMBERS[interruptedBy!])
  // Listening before the server starts: a Ctrl-C while it boots must not orphan it.
  const stopOnSignal = (signal: NodeJS.Signals) => {
    interruptedBy ??= signal
    if (server) void server.stop().finally(exitAfterStop)
  }
  // Should the process end any other way (an uncaught error, kill -9), the server's
  // watchdog stops it (see watchPostmaster).
  for (const signal of STOP_SIGNALS) process.on(signal, stopOnSignal)
  try {
    server = await startEmbeddedPostgres({
      dataDir,
      onOrphanStopped: (pid) => console.error(`stopped PostgreSQL (pid ${pid}) left running by an sms-outbox that died`),
    })
    if (interruptedBy) {
      await server.stop()
      exitAfterStop()
    }
    return await use(server.url())
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, stopOnSignal)
    await server?.stop()
  }
}

/**
 * The server of the live process that owns `dataDir` (an `npm start`), once it is ready; or
 * undefined when no live process owns it. A server whose owner died is no one's: the
 * command then starts its own, which stops that orphan first.
 */
async function liveOwnersServer(dataDir: string): Promise<RunningServer | undefined> {
  const deadline = performance.now() + STARTING_WAIT_MS
  for (;;) {
    const owner = await dataDirOwner(dataDir)
    if (owner === undefined) return undefined
    const running = runningServerOn(dataDir)
    if (running?.status === 'ready') return running
    if (performance.now() > deadline) {
      throw new CommandFailed(
        `the PostgreSQL of sms-outbox (pid ${owner}) on ${dataDir} is ${running?.status ?? 'starting'}; try again when it is ready or stopped`,
      )
    }
    await new Promise((done) => setTimeout(done, 200))
  }
}
