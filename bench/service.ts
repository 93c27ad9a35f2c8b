import { spawn, type ChildProcess } from 'node:child_process'
import { openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { request } from 'undici'

/** The real binary, started with `npm start`'s command line, with the bench's environment. */
export interface BenchService {
  url: string
  pid: number
  /** VmHWM: the most resident memory the process has had so far, in MB. */
  peakRssMB(): number
  /** SIGTERM, then waits for the graceful stop (and the CPU profile, if one was asked for). */
  stop(): Promise<void>
}

const ROOT = new URL('..', import.meta.url).pathname

/** `npm start`'s command line after `node` (compiled dist/, which `npm run bench` builds first): the bench runs the service exactly as users do. */
function startArguments(): string[] {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
  const [command, ...args] = scripts.start.trim().split(/\s+/)
  if (command !== 'node') throw new Error(`npm start runs ${command}, not node: the bench cannot run it`)
  return args
}

export async function startService(
  env: Record<string, string>,
  { logFile, cpuProfileDir }: { logFile: string; cpuProfileDir?: string },
): Promise<BenchService> {
  const port = await freePort()
  const log = openSync(logFile, 'a')
  const profiling = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : []
  const child: ChildProcess = spawn(process.execPath, [...profiling, ...startArguments()], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', log, log],
  })
  // Should the bench die without stopping it, the service must not linger, dispatching
  // to a fake provider that is gone.
  const orphanGuard = () => child.kill('SIGKILL')
  process.once('exit', orphanGuard)
  const exited = new Promise<void>((done) =>
    child.once('exit', () => {
      process.off('exit', orphanGuard)
      done()
    }),
  )
  let gone = false
  void exited.then(() => (gone = true))
  const url = `http://127.0.0.1:${port}`
  const deadline = performance.now() + 60_000
  for (;;) {
    if (gone) throw new Error(`the service exited during boot; its log is ${logFile}:\n${tail(logFile)}`)
    const ready = await request(`${url}/readyz`)
      .then(async (response) => (await response.body.text(), response.statusCode === 200))
      .catch(() => false)
    if (ready) break
    if (performance.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`the service did not become ready in 60 s; its log is ${logFile}:\n${tail(logFile)}`)
    }
    await new Promise((done) => setTimeout(done, 100))
  }
  return {
    url,
    pid: child.pid!,
    peakRssMB() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      return Number(status.match(/VmHWM:\s+(\d+) kB/)![1]) / 1024
    },
    async stop() {
      if (!gone) child.kill('SIGTERM')
      await exited
    },
  }
}

function tail(file: string): string {
  return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n')
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}
