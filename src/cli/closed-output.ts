/**
 * Lets a command finish when whoever reads its output goes away (`sms-outbox list | head`).
 * Unhandled, the EPIPE error kills the process mid-command, past the `finally` that
 * stops an embedded server it started, and that server then holds DATA_DIR's lock.
 */
export function ignoreClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error
    })
  }
}
