import { spawn, type ChildProcess } from 'node:child_process'

export interface ServiceProcess {
  child: ChildProcess
  url: string
  exited: Promise<number | null>
  /** Everything it wrote to stdout so far (its pino log). */
  output(): string
}

/**
 * The service from source (`npm start` runs the same entry compiled), with `env` on top
 * of this process's (a name set to undefined is left out). Resolves
 * once it listens: the API, or with ROLE=worker the health checks. `onSpawn` learns the
 * child at once, so that a caller can kill one that is still booting. `command` runs
 * another entry instead (say an installed package's `sms-outbox start`).
 */
export function startService(
  env: Record<string, string | undefined>,
  {
    onSpawn,
    command = [process.execPath, '--import', 'tsx', 'src/main.ts'],
  }: { onSpawn?: (child: ChildProcess) => void; command?: string[] } = {},
): Promise<ServiceProcess> {
  const [executable, ...args] = command
  const child = spawn(executable, args, {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    // stderr is passed through, and kept for the error of a service that never listens.
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let errors = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    // Enough for any boot error; a chaos run's long-lived services must not hoard theirs.
    if (errors.length < 64 * 1024) errors += chunk
    process.stderr.write(chunk)
  })
  onSpawn?.(child)
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))
  let output = ''
  let listening = false
  return new Promise((ready, fail) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      // Only until it listens: a busy API logs every request, and scanning the whole log
      // again for every chunk would cost the chaos runs quadratic time.
      if (listening) return
      const match = output.match(/sms-outbox (?:API|health checks) on (http:\/\/[\d.:]+)/)
      if (!match) return
      listening = true
      ready({ child, url: match[1], exited, output: () => output })
    })
    child.once('exit', (code) => fail(new Error(`service exited (${code}) before listening: ${errors}${output}`)))
  })
}

/** Polls `condition` every 25 ms; throws after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 25))
  }
}
