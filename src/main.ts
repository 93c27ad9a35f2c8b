import closeWithGrace from 'close-with-grace'
import { randomBytes } from 'node:crypto'
import { createAlerter } from './alerts/alerter.ts'
import { ConfigError, loadConfig, providerRateLimit, type Config } from './config.ts'
import { connectDatabase } from './db/database.ts'
import { usePreparedStatements } from './db/prepared-statements.ts'
import { startEmbeddedPostgres, type OwnedPostgres } from './db/embedded-postgres.ts'
import { applyMigrations } from './db/migrations.ts'
import { buildApp } from './http/app.ts'
import { createLogger } from './logger.ts'
import { createOutboxMetrics } from './metrics/outbox-metrics.ts'
import { Dispatcher } from './outbox/dispatcher.ts'
import { listenForDueMessages } from './outbox/due-notifications.ts'
import { startQueueSampler, type QueueSampler } from './outbox/queue-samples.ts'
import { startRetention, type RetentionJob } from './outbox/retention.ts'
import { createProvider } from './providers/create-provider.ts'

// Erasure is due hours after the fact; every ten minutes is prompt enough.
const RETENTION_INTERVAL_MS = 10 * 60_000

// The admin page's queue chart keeps one reading a minute. Twice a minute, so that timer
// drift never skips one; the first reading of a minute (of any worker) is the one kept.
const QUEUE_SAMPLE_INTERVAL_MS = 30_000

// Long enough for in-flight provider calls (PROVIDER_TIMEOUT_MS) to finish and be recorded.
const graceMs = (config: Config) => config.PROVIDER_TIMEOUT_MS + 5_000

/**
 * The process: configuration, database (embedded unless DATABASE_URL is set), migrations,
 * then the API and/or a dispatcher by ROLE, and an orderly stop on SIGINT/SIGTERM.
 */
async function main(): Promise<void> {
  let config: Config
  try {
    config = loadConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    process.exit(1)
  }
  const log = createLogger(config.LOG_LEVEL)
  usePreparedStatements(config.DATABASE_PREPARED_STATEMENTS)

  let embedded: OwnedPostgres | undefined
  let databaseUrl = config.DATABASE_URL
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres({
      dataDir: config.DATA_DIR,
      onLog: (line) => log.trace({ postgres: line }),
    })
    databaseUrl = embedded.url()
    log.info(`embedded PostgreSQL on ${databaseUrl} (data in ${config.DATA_DIR})`)
  }
  try {
    const applied = await applyMigrations(databaseUrl)
    if (applied.length > 0) log.info({ migrations: applied }, `applied ${applied.length} migrations`)
  } catch (error) {
    // The embedded server runs in its own process group and would outlive us.
    await embedded?.stop()
    throw error
  }

  const database = connectDatabase(databaseUrl, {
    poolSize: config.DATABASE_POOL_SIZE,
    onError: (error) => log.warn({ err: error }, 'idle database connection lost'),
  })
  let adminToken = config.ADMIN_TOKEN
  if (!adminToken && config.ROLE !== 'worker') {
    adminToken = randomBytes(24).toString('base64url')
    // Printed once, never stored: set ADMIN_TOKEN to keep one across restarts.
    log.warn(`ADMIN_TOKEN is not set; the admin token of this run is ${adminToken}`)
  }

  let dispatcher: Dispatcher | undefined
  let notifications: { close(): Promise<void> } | undefined
  let retention: RetentionJob | undefined
  let queueSampler: QueueSampler | undefined
  const alerts = createAlerter({
    url: config.ALERT_WEBHOOK_URL,
    windowMs: config.ALERT_WINDOW_MS,
    log: log.child({ component: 'alerts' }),
  })
  // One registry per process: the app serves it at /metrics, the dispatcher counts into it.
  const metrics = createOutboxMetrics({ prisma: database.prisma, log: log.child({ component: 'metrics' }) })
  const app = await buildApp({ config: { ...config, ADMIN_TOKEN: adminToken }, database, logger: log, alerts, metrics })
  const provider = config.ROLE === 'api' ? undefined : createProvider(config, log)
  if (provider) {
    dispatcher = new Dispatcher({
      prisma: database.prisma,
      pool: database.pool,
      provider,
      log: log.child({ component: 'dispatcher' }),
      alerts,
      backoff: {
        baseDelayMs: config.RETRY_BASE_DELAY_MS,
        maxDelayMs: config.RETRY_MAX_DELAY_MS,
        jitter: config.RETRY_JITTER,
      },
      leaseMs: config.LEASE_MS,
      providerTimeoutMs: config.PROVIDER_TIMEOUT_MS,
      batchSize: config.DISPATCH_BATCH_SIZE,
      concurrency: config.DISPATCH_CONCURRENCY,
      pollIntervalMs: config.POLL_INTERVAL_MS,
      probeIntervalMs: config.PAUSE_PROBE_INTERVAL_MS,
      rateLimit: providerRateLimit(config),
      retryBudget: { ratio: config.RETRY_BUDGET_RATIO, minPerMinute: config.RETRY_BUDGET_MIN_PER_MINUTE },
      metrics,
    })
    const wake = dispatcher.wake.bind(dispatcher)
    notifications = listenForDueMessages(databaseUrl, {
      onDue: wake,
      onError: (error) => log.warn({ err: error }, 'LISTEN connection lost; polling until it is back'),
    })
    dispatcher.start()
    retention = startRetention(database.prisma, {
      retentionHours: config.RETENTION_HOURS,
      intervalMs: RETENTION_INTERVAL_MS,
      log: log.child({ component: 'retention' }),
    })
    queueSampler = startQueueSampler(database.prisma, {
      intervalMs: QUEUE_SAMPLE_INTERVAL_MS,
      log: log.child({ component: 'queue-sampler' }),
    })
  }

  const address = await app.listen({ host: config.HOST, port: config.PORT })
  log.info(`sms-outbox ${config.ROLE === 'worker' ? 'health checks' : 'API'} on ${address} (role ${config.ROLE}${provider ? `, provider ${provider.name}` : ''})`)

  closeWithGrace({ delay: graceMs(config) }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'stopping after an error')
    else log.info(`${signal}: stopping; in-flight sends finish first`)
    await app.close()
    await notifications?.close()
    await retention?.stop()
    await queueSampler?.stop()
    await dispatcher?.stop()
    await provider?.close?.()
    await alerts.close()
    await database.close()
    await embedded?.stop()
    log.info('stopped')
  })
}

await main()
