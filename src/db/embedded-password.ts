import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'

/** The superuser of the embedded server. */
export const EMBEDDED_USER = 'postgres'

/** In DATA_DIR, mode 0600: the embedded superuser's password, one line. */
export const PASSWORD_FILE = 'sms-outbox-password'

/** The user the server runs as, when that is not this process's user (we are root). */
export interface RunAs {
  uid?: number
  gid?: number
}

/** A fresh password: 32 random bytes, URL-safe, so it can sit in a connection string as is. */
export function newPassword(): string {
  return randomBytes(32).toString('base64url')
}

/** The password kept in `dataDir`, or undefined when there is no file yet. */
export function readEmbeddedPassword(dataDir: string): string | undefined {
  try {
    return readFileSync(resolve(dataDir, PASSWORD_FILE), 'utf8').trim() || undefined
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * Writes `password` to the file in `dataDir`, readable by the directory's owner only: this
 * process's user, or the postgres user when we run as root (which reads anything anyway).
 * Through a rename, so a crash leaves either no file or a whole one.
 */
export function writeEmbeddedPassword(dataDir: string, password: string, runAs: RunAs): void {
  const file = resolve(dataDir, PASSWORD_FILE)
  const partial = `${file}.partial`
  rmSync(partial, { force: true })
  writeFileSync(partial, `${password}\n`, { mode: 0o600, flag: 'wx' })
  if (runAs.uid !== undefined) chownSync(partial, runAs.uid, runAs.gid!)
  renameSync(partial, file)
}

/**
 * The password of the stopped server in `dataDir`: the one in its file, or else a new one,
 * set with ALTER ROLE before the file is written. A data directory initialised by an older
 * sms-outbox (whose password was the fixed `postgres`) is upgraded this way on its first
 * start.
 *
 * Why single-user mode rather than logging in with the old password: it needs no password
 * at all, so it also repairs a directory whose password a crash left unknown (ALTER ROLE
 * done, file not yet written, or initdb done, file not yet written). Every step can be
 * repeated, so a crash at any point is mended by the next start.
 */
export function ensureEmbeddedPassword(postgresBinary: string, dataDir: string, runAs: RunAs): string {
  const existing = readEmbeddedPassword(dataDir)
  if (existing) return existing
  const password = newPassword()
  execFileSync(
    postgresBinary,
    // exit_on_error: otherwise single-user mode reports a failed statement and exits 0.
    // log_min_error_statement=panic: an error must not echo the statement and its password.
    ['--single', '-D', dataDir, '-c', 'exit_on_error=on', '-c', 'log_min_error_statement=panic', 'postgres'],
    { input: `ALTER ROLE ${EMBEDDED_USER} PASSWORD '${password}'\n`, stdio: 'pipe', ...runAs },
  )
  writeEmbeddedPassword(dataDir, password, runAs)
  return password
}
