// `npm run chaos [-- --quick] [-- --only 1,2]`: the reliability scenarios listed in
// docs/reliability.md, against real processes and a PostgreSQL the harness owns. Prints
// one JSON line per scenario, then a summary line, and exits 1 when any invariant broke
// (or the run overran its bound), 0 otherwise.
import { rmSync } from 'node:fs'
import { ChaosDriver } from './chaos-driver.ts'
import { FakeProvider } from './fake-provider.ts'
import { startHarnessPostgres, type HarnessPostgres } from './harness-postgres.ts'
import { LoadGenerator } from './load-generator.ts'
import { round, runScenario, type Scenario, type ScenarioResult } from './scenario.ts'
import { SCENARIOS } from './scenarios/index.ts'

// The bound for a full run on 2 cores, and the quick run's share of a CI suite.
const FULL_RUN_BOUND_MS = 10 * 60_000
// The quick run takes about a minute alone on 2 cores; the bound leaves room for a CI
// machine running the rest of the suite beside it.
const QUICK_RUN_BOUND_MS = 180_000

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const onlyArg = args.indexOf('--only')
const only = onlyArg >= 0 ? new Set(args[onlyArg + 1].split(',').map(Number)) : undefined
const selected: Scenario[] = SCENARIOS.filter((s) => (only ? only.has(s.id) : quick ? s.quick : !s.long))

const drivers = new Set<ChaosDriver>()
let postgres: HarnessPostgres | undefined

// Whatever ends this process, no service it started and no PostgreSQL it owns survives it.
process.on('exit', () => {
  for (const driver of drivers) driver.killAllNow()
  if (postgres) {
    try {
      process.kill(postgres.pid, 'SIGQUIT')
    } catch {
      // already stopped
    }
    // A server in immediate shutdown writes nothing more that anyone will read.
    rmSync(postgres.dataDir, { recursive: true, force: true })
  }
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`chaos: ${signal}, stopping`)
    process.exit(1)
  })
}

// A parent that dies (a test runner's timeout) must not leave the harness and its
// PostgreSQL running: re-parented to init, it stops itself.
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) {
    console.error('chaos: the parent process is gone, stopping')
    process.exit(1)
  }
}, 1_000).unref()

const started = performance.now()
const bound = setTimeout(() => {
  console.log(JSON.stringify({ summary: true, ok: false, error: `the run exceeded its bound of ${(quick ? QUICK_RUN_BOUND_MS : FULL_RUN_BOUND_MS) / 1000} s` }))
  process.exit(1)
}, quick ? QUICK_RUN_BOUND_MS : FULL_RUN_BOUND_MS)
bound.unref()

const results: ScenarioResult[] = []
try {
  postgres = await startHarnessPostgres()
  for (const scenario of selected) {
    const result = await runScenario(scenario, {
      quick,
      postgres,
      makeDriver: () => {
        const driver = new ChaosDriver()
        drivers.add(driver)
        return driver
      },
      makeProvider: () => new FakeProvider().start(),
      makeLoad: () => new LoadGenerator(),
    })
    results.push(result)
    console.log(JSON.stringify({ scenario: result.scenario, name: result.name, ok: result.ok, seconds: result.seconds, ...result.figures, violations: result.violations }))
  }
} finally {
  await postgres?.stop().catch(() => {})
  postgres = undefined
}

const failed = results.filter((r) => !r.ok).map((r) => r.scenario)
console.log(
  JSON.stringify({
    summary: true,
    ok: failed.length === 0 && results.length === selected.length,
    mode: quick ? 'quick' : 'full',
    scenarios: results.map((r) => r.scenario),
    failed,
    seconds: round((performance.now() - started) / 1000, 1),
  }),
)
process.exit(failed.length === 0 ? 0 : 1)
