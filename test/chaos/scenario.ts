import { mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { ChaosDriver } from './chaos-driver.ts'
import { checkOutbox, waitForDrain, type CheckerReport } from './checker.ts'
import type { FakeProvider } from './fake-provider.ts'
import type { HarnessPostgres } from './harness-postgres.ts'
import type { LoadGenerator } from './load-generator.ts'

/** Admin token of every service the harness starts (fixed, so no boot prints one). */
export const ADMIN_TOKEN = 'chaos-admin-token-0123456789abcdef'

/**
 * Service settings for chaos runs: schedules in milliseconds so that retries, leases and
 * reclaims play out within a scenario. LEASE_MS 3 s against a 1 s provider timeout keeps
 * the 3x ratio of the defaults (30 s / 10 s).
 */
export const CHAOS_SERVICE_ENV = {
  SMS_PROVIDER: 'webhook',
  ADMIN_TOKEN,
  POLL_INTERVAL_MS: '200',
  RETRY_BASE_DELAY_MS: '100',
  RETRY_MAX_DELAY_MS: '1000',
  PROVIDER_TIMEOUT_MS: '1000',
  LEASE_MS: '3000',
  DATABASE_POOL_SIZE: '10',
}

/** What a scenario gets: its own database, provider, processes and callers. */
export interface ScenarioContext {
  readonly quick: boolean
  readonly postgres: HarnessPostgres
  /** This scenario's database (a clone of the migrated template). */
  readonly databaseUrl: string
  /** The harness's own connections to it, for setup and for the checker. */
  readonly pool: pg.Pool
  readonly provider: FakeProvider
  readonly driver: ChaosDriver
  readonly load: LoadGenerator
  /** CHAOS_SERVICE_ENV for this scenario's database and provider, with `overrides`. */
  serviceEnv(overrides?: Record<string, string>): Record<string, string>
  /** Records an invariant. A false one fails the scenario, and the run exits non-zero. */
  expect(name: string, ok: boolean, detail?: unknown): void
  /**
   * Waits for the queue to drain plus one lease, then runs the checker and records its
   * invariants (lost, stranded, dup_unexplained, unexpected, sent_without_receipt all 0).
   */
  check(accepted: Iterable<string>, options?: { leaseMs?: number; drainTimeoutMs?: number }): Promise<CheckerReport>
  /** Runs `fn` when the scenario ends, however it ends. */
  onCleanup(fn: () => unknown): void
}

export interface Scenario {
  id: number
  name: string
  /** Part of the `--quick` run (CI), with the small counts `ctx.quick` selects. */
  quick: boolean
  /** Runs only when named (`--only`): too long for the full run's bound. */
  long?: boolean
  /** A hard bound: past it the scenario fails and everything it started is stopped. */
  timeoutMs: number
  /** Returns the scenario's own figures (the checker's are added by `ctx.check`). */
  run(ctx: ScenarioContext): Promise<Record<string, unknown>>
}

export interface ScenarioResult {
  scenario: number
  name: string
  ok: boolean
  seconds: number
  figures: Record<string, unknown>
  violations: { name: string; detail?: unknown }[]
}

/** Runs one scenario in a fresh database with fresh fakes, and always cleans up after it. */
export async function runScenario(
  scenario: Scenario,
  shared: { quick: boolean; postgres: HarnessPostgres; makeDriver: () => ChaosDriver; makeProvider: () => Promise<FakeProvider>; makeLoad: () => LoadGenerator },
): Promise<ScenarioResult> {
  const started = performance.now()
  const violations: ScenarioResult['violations'] = []
  const invariants: Record<string, boolean> = {}
  const cleanups: (() => unknown)[] = []
  let figures: Record<string, unknown> = {}
  const databaseUrl = await shared.postgres.createDatabase(`chaos_${scenario.id}`)
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4, application_name: 'chaos-harness' })
  pool.on('error', () => {}) // scenario 7 restarts the server under it
  const provider = await shared.makeProvider()
  const driver = shared.makeDriver()
  const load = shared.makeLoad()
  const ctx: ScenarioContext = {
    quick: shared.quick,
    postgres: shared.postgres,
    databaseUrl,
    pool,
    provider,
    driver,
    load,
    serviceEnv: (overrides = {}) => ({
      ...CHAOS_SERVICE_ENV,
      DATABASE_URL: databaseUrl,
      SMS_WEBHOOK_URL: provider.url,
      ...overrides,
    }),
    expect(name, ok, detail) {
      invariants[name] = ok && (invariants[name] ?? true)
      if (!ok) violations.push({ name, detail })
    },
    async check(accepted, { leaseMs = Number(CHAOS_SERVICE_ENV.LEASE_MS), drainTimeoutMs = 60_000 } = {}) {
      const drain = await waitForDrain(pool, { leaseMs, timeoutMs: drainTimeoutMs })
      const report = await checkOutbox(pool, provider, accepted)
      for (const name of ['lost', 'stranded', 'dup_unexplained', 'unexpected', 'sent_without_receipt'] as const) {
        ctx.expect(`${name} == 0`, report[name] === 0, report[name])
      }
      figures = { ...figures, ...report, drain_seconds: round(drain.drainedMs / 1000) }
      return report
    },
    onCleanup: (fn) => cleanups.push(fn),
  }

  let timer: NodeJS.Timeout | undefined
  try {
    const timeout = new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`scenario ${scenario.id} exceeded ${scenario.timeoutMs} ms`)), scenario.timeoutMs)
    })
    const own = await Promise.race([scenario.run(ctx), timeout])
    figures = { ...figures, ...own }
  } catch (error) {
    violations.push({ name: 'completed', detail: error instanceof Error ? error.stack?.split('\n').slice(0, 4).join(' | ') : String(error) })
  } finally {
    clearTimeout(timer)
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => {})
    await driver.stopAll().catch(() => {})
    await load.close().catch(() => {})
    await provider.close().catch(() => {})
    await pool.end().catch(() => {})
  }
  if (violations.length > 0 && driver.history.length > 0) {
    // What the services logged is how a failure gets explained; the JSON only points to it.
    const dir = join(tmpdir(), 'sms-outbox-chaos-logs', `scenario-${scenario.id}`)
    mkdirSync(dir, { recursive: true })
    for (const service of driver.history) writeFileSync(join(dir, `${service.name}-${service.pid}.log`), service.process.output())
    figures = { ...figures, logs: dir }
  }
  return {
    scenario: scenario.id,
    name: scenario.name,
    ok: violations.length === 0,
    seconds: round((performance.now() - started) / 1000),
    figures: { ...figures, invariants },
    violations,
  }
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms))
