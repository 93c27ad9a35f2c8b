import { spawn, type ChildProcess } from 'node:child_process'

export interface ServiceProcess {
  child: ChildProcess
  url: string
  exited: Promise<number | null>
  /** Everything it wrote to stdout so far (its pino log). */
  output(): string
}

/** The real binary, as `npm start` runs it, with `env` on top of this process's. */
export function startService(env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))
  let output = ''
  return new Promise((ready, fail) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      const match = output.match(/sms-outbox API on (http:\/\/[\d.:]+)/)
      if (match) ready({ child, url: match[1], exited, output: () => output })
    })
    child.once('exit', (code) => fail(new Error(`service exited (${code}) before listening: ${output}`)))
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
