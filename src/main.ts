import closeWithGrace from 'close-with-grace'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { createAlerter } from './alerts/alerter.ts'
import { ConfigError, enqueueAccess, loadConfig, type Config, type EnqueueAccess } from './config.ts'
import { usePreparedStatements } from './db/prepared-statements.ts'
import { DataDirInUse } from './db/data-dir-owner.ts'
import { PASSWORD_FILE } from './db/embedded-password.ts'
import { startEmbeddedPostgres, type OwnedPostgres } from './db/embedded-postgres.ts'
import { applyMigrations } from './db/migrations.ts'
import { connectPool } from './db/pool.ts'
import { buildOperationsApp } from './http/operations-app.ts'
import { createLogger } from './logger.ts'
import { createOutboxMetrics } from './metrics/outbox-metrics.ts'
import { LocalEnqueues } from './outbox/enqueue/local-enqueues.ts'
import { runDispatcher } from './run-dispatcher.ts'

// Long enough for in-flight provider calls (PROVIDER_TIMEOUT_MS) to finish and be recorded.
const graceMs = (config: Config) => config.PROVIDER_TIMEOUT_MS + 5_000

/**
 * The process: configuration, database (embedded unless DATABASE_URL is set), migrations,
 * then the API and/or a dispatcher by ROLE, and an orderly stop on SIGINT/SIGTERM.
 */
async function main(): Promise<void> {
  let config: Config
  let access: EnqueueAccess
  try {
    config = loadConfig()
    access = enqueueAccess(config)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    process.exit(1)
  }
  const log = createLogger(config.LOG_LEVEL)
  if (access === 'open-on-loopback') {
    log.warn(`enqueue is unauthenticated (API_TOKEN is not set); only this machine can reach it on HOST=${config.HOST}`)
  } else if (access === 'open-on-purpose') {
    log.warn(`API_OPEN=true: enqueue is unauthenticated on HOST=${config.HOST}; anyone who can reach port ${config.PORT} can send SMS through your provider`)
  }
  usePreparedStatements(config.DATABASE_PREPARED_STATEMENTS)

  let embedded: OwnedPostgres | undefined
  let databaseUrl = config.DATABASE_URL
  if (!databaseUrl) {
    try {
      embedded = await startEmbeddedPostgres({
        dataDir: config.DATA_DIR,
        onLog: (line) => log.trace({ postgres: line }),
        onOrphanStopped: (pid) => log.warn(`stopped PostgreSQL (pid ${pid}) left running by an sms-outbox that died`),
      })
    } catch (error) {
      if (!(error instanceof DataDirInUse)) throw error
      log.error(error.message)
      process.exit(1)
    }
    databaseUrl = embedded.url()
    // Not the URL itself: it holds the password, and logs travel further than DATA_DIR.
    const { port } = new URL(databaseUrl)
    log.info(
      `embedded PostgreSQL on postgresql://postgres@127.0.0.1:${port}/postgres (data in ${config.DATA_DIR}, password in ${join(config.DATA_DIR, PASSWORD_FILE)})`,
    )
  }
  try {
    const applied = await applyMigrations(databaseUrl)
    if (applied.length > 0) log.info({ migrations: applied }, `applied ${applied.length} migrations`)
  } catch (error) {
    // The embedded server runs in its own process group and would outlive us.
    await embedded?.stop()
    throw error
  }

  const poolOptions = {
    poolSize: config.DATABASE_POOL_SIZE,
    onError: (error: Error) => log.warn({ err: error }, 'idle database connection lost'),
  }
  // A worker loads neither the API's modules nor Prisma.
  const database = config.ROLE === 'worker' ? undefined : (await import('./db/database.ts')).connectDatabase(databaseUrl, poolOptions)
  const pool = database?.pool ?? connectPool(databaseUrl, poolOptions)
  let adminToken = config.ADMIN_TOKEN
  if (!adminToken && config.ROLE !== 'worker') {
    adminToken = randomBytes(24).toString('base64url')
    // Printed once, never stored: set ADMIN_TOKEN to keep one across restarts.
    log.warn(`ADMIN_TOKEN is not set; the admin token of this run is ${adminToken}`)
  }

  const alerts = createAlerter({
    url: config.ALERT_WEBHOOK_URL,
    windowMs: config.ALERT_WINDOW_MS,
    log: log.child({ component: 'alerts' }),
  })
  // One registry per process: the app serves it at /metrics, the dispatcher counts into it.
  const metrics = createOutboxMetrics({ pool, log: log.child({ component: 'metrics' }) })
  // API and dispatcher in one process: the API wakes the dispatcher itself.
  const localEnqueues = config.ROLE === 'all' ? new LocalEnqueues(pool) : undefined
  const app = database
    ? await (await import('./http/app.ts')).buildApp({ config: { ...config, ADMIN_TOKEN: adminToken }, database, logger: log, alerts, metrics, localEnqueues })
    : (await buildOperationsApp({ config, pool, logger: log, metrics })).app
  const worker = config.ROLE === 'api' ? undefined : runDispatcher({ config, databaseUrl, pool, log, alerts, metrics, localEnqueues })
  const provider = worker?.provider

  const address = await app.listen({ host: config.HOST, port: config.PORT })
  log.info(`sms-outbox ${config.ROLE === 'worker' ? 'health checks' : 'API'} on ${address} (role ${config.ROLE}${provider ? `, provider ${provider.name}` : ''})`)

  closeWithGrace({ delay: graceMs(config) }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'stopping after an error')
    else log.info(`${signal}: stopping; in-flight sends finish first`)
    await app.close()
    await worker?.stop()
    await alerts.close()
    await (database ? database.close() : pool.end())
    await embedded?.stop()
    log.info('stopped')
  })
}

await main()
