import type { ChildProcess } from 'node:child_process'
import { startService, type ServiceProcess } from '../helpers/service-process.ts'

/** A service process the driver started, with what it takes to start it again. */
export interface ManagedService {
  readonly name: string
  readonly env: Record<string, string>
  readonly process: ServiceProcess
  readonly pid: number
  readonly url: string
  /** Resolves with the exit code (null after a signal). */
  readonly exited: Promise<number | null>
  alive: boolean
}

/**
 * Spawns API and dispatcher processes (the real `src/main.ts`, through the shared
 * `startService` helper), remembers their PIDs, and kills and restarts them. It only ever
 * signals PIDs it started, and `stopAll()` leaves none of them behind.
 */
export class ChaosDriver {
  readonly #services = new Set<ManagedService>()
  /** Every child spawned and not yet exited, booting ones included. */
  readonly #children = new Set<ChildProcess>()
  readonly #booting = new Set<Promise<unknown>>()
  /** Every service ever started, dead ones too: their logs explain a failed scenario. */
  readonly history: ManagedService[] = []
  /** kill -9s sent so far. */
  kills = 0
  /** Processes started so far, restarts included. */
  starts = 0

  async start(name: string, env: Record<string, string>): Promise<ManagedService> {
    const boot = startService(env, {
      onSpawn: (child) => {
        this.#children.add(child)
        child.once('exit', () => this.#children.delete(child))
      },
    })
    this.#booting.add(boot)
    const started = await boot.finally(() => this.#booting.delete(boot))
    this.starts += 1
    const service: ManagedService = {
      name,
      env,
      process: started,
      pid: started.child.pid!,
      url: started.url,
      exited: started.exited,
      alive: true,
    }
    void started.exited.then(() => {
      service.alive = false
    })
    this.#services.add(service)
    this.history.push(service)
    return service
  }

  /** Signals the process by its PID and waits for it to exit. */
  async kill(service: ManagedService, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (service.alive && signalPid(service.pid, signal) && signal === 'SIGKILL') this.kills += 1
    const code = await service.exited
    this.#services.delete(service)
    return code
  }

  /** kill -9, then the same process again with the same environment. */
  async restart(service: ManagedService): Promise<ManagedService> {
    await this.kill(service)
    return this.start(service.name, service.env)
  }

  /** The live services whose name starts with `prefix`. */
  running(prefix = ''): ManagedService[] {
    return [...this.#services].filter((service) => service.alive && service.name.startsWith(prefix))
  }

  /** SIGTERM every process still running, then SIGKILL whatever has not exited in `graceMs`. */
  async stopAll(graceMs = 5_000): Promise<void> {
    // A process still booting is signalled too: it must not outlive the scenario.
    const children = [...this.#children]
    const exits = children.map((child) =>
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((done) => child.once('exit', () => done())),
    )
    for (const child of children) signalPid(child.pid!, 'SIGTERM')
    const timer = setTimeout(() => {
      for (const child of children) signalPid(child.pid!, 'SIGKILL')
    }, graceMs)
    await Promise.all(exits)
    clearTimeout(timer)
    await Promise.allSettled([...this.#booting])
    this.#services.clear()
  }

  /** Synchronous last resort for an exiting harness: SIGKILL every PID still alive. */
  killAllNow(): void {
    for (const child of this.#children) signalPid(child.pid!, 'SIGKILL')
  }
}

/** Sends `signal` to `pid`; false if it had already exited. */
function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal)
    return true
  } catch {
    return false
  }
}
