import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'

/** A PostgreSQL server that is running on a data directory (started by `npm start`, say). */
export interface RunningServer {
  pid: number
  port: number
  /** `ready`, `starting` or `stopping`, as the server reports it in postmaster.pid. */
  status: string
}

/**
 * The server running on `dataDir`, read from the `postmaster.pid` lock file PostgreSQL
 * keeps there: line 1 is its pid, line 4 its port, line 8 its status. A file whose process
 * is gone is a stale lock (a server killed with -9) and counts as no server.
 */
export function runningServerOn(dataDir: string): RunningServer | undefined {
  const lockFile = resolve(dataDir, 'postmaster.pid')
  if (!existsSync(lockFile)) return undefined
  let lines: string[]
  try {
    lines = readFileSync(lockFile, 'utf8').split('\n')
  } catch {
    return undefined // removed between the two calls: the server just stopped
  }
  const pid = Number(lines[0])
  const port = Number(lines[3])
  // The server writes the file in steps while it starts; a half-written one says nothing yet.
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) {
    return { pid: pid || 0, port: 0, status: 'starting' }
  }
  if (!isAlive(pid)) return undefined
  return { pid, port, status: lines[7]?.trim() || 'starting' }
}

/** Whether `pid` runs; a zombie (exited, not yet reaped by whoever adopted it) does not. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: it exists but belongs to another user (the postgres user, when we are not root).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  try {
    // Field 3 of /proc/<pid>/stat, after the parenthesised name (which may hold a ')'), is the state.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat[stat.lastIndexOf(')') + 2] !== 'Z'
  } catch {
    return process.platform !== 'linux' // no /proc to ask: trust the signal
  }
}
