import { spawn } from 'node:child_process'

/** Stops a postmaster when this process dies; standDown() once it is stopped some other way. */
export interface PostmasterWatchdog {
  standDown(): void
}

// $1 is the postmaster's pid; $0 names the process in `ps` (with the data directory).
const WATCH = 'read -r _ || kill -INT "$1" 2>/dev/null'

/**
 * Starts a watchdog that sends SIGINT (fast shutdown: sessions ended, checkpoint, clean
 * stop) to `postmasterPid` the moment this process dies, however it dies. Node cannot ask
 * the kernel for a parent-death signal, so the watchdog is a tiny detached `sh` whose stdin
 * is a pipe only this process writes to: when this process exits or is killed with -9,
 * the kernel closes that pipe and `read` returns at once with end-of-file, with no polling
 * interval and no pid that could have been reused in between. A line on the pipe
 * (standDown) makes it exit without signalling: the server was stopped on purpose.
 *
 * Detached, so that a Ctrl-C meant for this process's group does not end the watchdog
 * first. Should the watchdog die too (one `kill -9` for the whole group, say), the next
 * start on the data directory finds the server orphaned and stops it (see
 * stopOrphanedPostmaster).
 */
export function watchPostmaster(postmasterPid: number, dataDir: string): PostmasterWatchdog {
  if (process.platform === 'win32') return { standDown: () => {} }
  const watchdog = spawn('/bin/sh', ['-c', WATCH, `sms-outbox-watchdog ${dataDir}`, String(postmasterPid)], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  })
  // Without sh (an unusual system) there is no watchdog; the next start still recovers.
  watchdog.once('error', () => {})
  watchdog.stdin!.on('error', () => {})
  watchdog.unref()
  let stoodDown = false
  return {
    standDown() {
      if (stoodDown) return
      stoodDown = true
      watchdog.stdin!.end('stand down\n')
    },
  }
}
