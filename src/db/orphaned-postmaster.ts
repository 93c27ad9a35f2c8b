import { readFileSync } from 'node:fs'
import { isAlive, runningServerOn } from './running-embedded-server.ts'

// A fast shutdown ends sessions and writes a checkpoint: seconds at most on a busy server.
// Past this, an immediate shutdown (crash recovery at the next start) is still safe.
const FAST_SHUTDOWN_MS = 30_000
const IMMEDIATE_SHUTDOWN_MS = 10_000
const EXIT_POLL_MS = 50

/**
 * Stops a PostgreSQL still running on `dataDir` whose owner died (killed with -9, out of
 * memory, with its watchdog killed too). Call it only while holding the directory's
 * ownership (claimDataDir): then no live sms-outbox uses that server, since every owner
 * holds the claim for as long as its server runs. Resolves with the pid it stopped.
 */
export async function stopOrphanedPostmaster(dataDir: string): Promise<number | undefined> {
  const running = runningServerOn(dataDir)
  if (!running || running.pid <= 0) return undefined
  // A pid from a stale postmaster.pid may since belong to something else: never signal that.
  // PostgreSQL copes with such a stale lock file itself.
  if (!isPostmasterOf(running.pid, dataDir)) return undefined
  if (await stopped(running.pid, 'SIGINT', FAST_SHUTDOWN_MS)) return running.pid
  if (await stopped(running.pid, 'SIGQUIT', IMMEDIATE_SHUTDOWN_MS)) return running.pid
  throw new Error(`PostgreSQL (pid ${running.pid}) left running on ${dataDir} by an sms-outbox that died does not stop`)
}

/**
 * Whether `pid` is a postgres started on `dataDir` (`-D <dataDir>` on its command line).
 * Without /proc (not Linux) there is no way to tell: trust the lock file.
 */
function isPostmasterOf(pid: number, dataDir: string): boolean {
  let args: string[]
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  } catch {
    return process.platform !== 'linux'
  }
  const dataDirArg = args.indexOf('-D') + 1
  return dataDirArg > 0 && args[dataDirArg] === dataDir
}

/** Signals `pid` and waits until it is gone; it is not our child, so there is no exit event. */
async function stopped(pid: number, signal: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
  try {
    process.kill(pid, signal)
  } catch {
    return !isAlive(pid)
  }
  const deadline = performance.now() + timeoutMs
  while (isAlive(pid)) {
    if (performance.now() > deadline) return false
    await new Promise((done) => setTimeout(done, EXIT_POLL_MS))
  }
  return true
}
