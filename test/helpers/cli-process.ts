import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** bin/sms-outbox.js, the file npm links as `sms-outbox`. */
export const CLI_BIN = fileURLToPath(new URL('../../bin/sms-outbox.js', import.meta.url))

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs the command as a user would (`node bin/sms-outbox.js ...`, or `executable` itself
 * when given, say a symlink), with exactly `env`, and waits for it to exit.
 */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  { executable, cwd }: { executable?: string; cwd?: string } = {},
): Promise<CliRun> {
  const child = executable
    ? spawn(executable, args, { env, cwd })
    : spawn(process.execPath, [CLI_BIN, ...args], { env, cwd })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return new Promise((done, fail) => {
    child.once('error', fail)
    child.once('close', (code) => done({ code, stdout, stderr }))
  })
}

/** Pids of the processes whose command line mentions `text` (say, a data directory). */
export function processesMentioning(text: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry))
    } catch {
      // exited while we looked
    }
  }
  return pids
}
