import { readdirSync, readFileSync } from 'node:fs'

/**
 * Who used the two cores during a phase, in cores (CPU seconds per second of the phase):
 * the service, PostgreSQL (the embedded server's processes), the bench (this process:
 * the load generator of REST and batch; and its far end: the fake provider and the lag's
 * sender) and everything else on the machine. On a shared
 * machine `other` says how much of the phase someone else took.
 */
export interface CpuShare {
  seconds: number
  service: number | null
  postgres: number | null
  bench: number
  other: number
  idle: number
}

const TICKS_PER_SECOND = 100 // USER_HZ on Linux

/** utime + stime of `pid`, and of its waited-for children if `withChildren`, in seconds. */
function processSeconds(pid: number, withChildren = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command (which may contain spaces), numbered from 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12]) + (withChildren ? Number(fields[13]) + Number(fields[14]) : 0)
    return ticks / TICKS_PER_SECOND
  } catch {
    return 0
  }
}

/** A server and every backend it forked, living or reaped. */
function treeSeconds(rootPid: number): number {
  let total = processSeconds(rootPid, true)
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (parent === rootPid) total += processSeconds(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return total
}

/** All cores: busy and idle seconds since boot. */
function machineSeconds(): { busy: number; idle: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number)
  return { busy: (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND, idle: (idle + iowait) / TICKS_PER_SECOND }
}

export interface CpuMeter {
  stop(): CpuShare
}

/**
 * `servicePid`: the service's process, or several (scaled-out workers) counted together;
 * `farEndPid`: the bench's far end, counted with this process as `bench`.
 */
export function startCpuMeter({ servicePid, postgresPid, farEndPid }: { servicePid?: number | number[]; postgresPid?: number; farEndPid?: number }): CpuMeter {
  const started = performance.now()
  const servicePids = servicePid === undefined ? [] : [servicePid].flat()
  const serviceSeconds = () => servicePids.reduce((sum, pid) => sum + processSeconds(pid), 0)
  const service0 = serviceSeconds()
  const postgres0 = postgresPid ? treeSeconds(postgresPid) : 0
  // This process with the children it waited for (pgbench), and the far end.
  const benchSeconds = () => processSeconds(process.pid, true) + (farEndPid ? processSeconds(farEndPid) : 0)
  const bench0 = benchSeconds()
  const machine0 = machineSeconds()
  return {
    stop() {
      const seconds = (performance.now() - started) / 1000
      const service = servicePids.length > 0 ? (serviceSeconds() - service0) / seconds : null
      const postgres = postgresPid ? (treeSeconds(postgresPid) - postgres0) / seconds : null
      const bench = (benchSeconds() - bench0) / seconds
      const machine = machineSeconds()
      const busy = (machine.busy - machine0.busy) / seconds
      return {
        seconds,
        service,
        postgres,
        bench,
        other: Math.max(0, busy - (service ?? 0) - (postgres ?? 0) - bench),
        idle: (machine.idle - machine0.idle) / seconds,
      }
    },
  }
}

/**
 * Waits (up to `maxWaitMs`) for a half second in which the machine was nearly idle, so
 * that a phase does not start while someone else's job holds a core. Returns the wait.
 */
export async function waitForQuietMachine(maxWaitMs: number, busyCoresBelow = 0.3): Promise<number> {
  const started = performance.now()
  while (performance.now() - started < maxWaitMs) {
    const before = machineSeconds()
    await new Promise((done) => setTimeout(done, 500))
    const after = machineSeconds()
    if ((after.busy - before.busy) / 0.5 < busyCoresBelow) break
  }
  return (performance.now() - started) / 1000
}
