import { createAlerter } from '../alerts/alerter.ts'
import { ConfigError, configSchema, loadConfig, type Config } from '../config.ts'
import { connectPool } from '../db/pool.ts'
import { pendingMigrations } from '../db/migrations.ts'
import { createLogger } from '../logger.ts'
import { runDispatcher } from '../run-dispatcher.ts'

/** `SMS_WEBHOOK_URL` -> `smsWebhookUrl`. */
type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}`
  : Lowercase<S>

/** What only the HTTP service has: a dispatcher in your process serves nothing and starts no database. */
type ServiceOnly = 'DATABASE_URL' | 'DATA_DIR' | 'HOST' | 'PORT' | 'ROLE' | 'API_TOKEN' | 'ADMIN_TOKEN'
const SERVICE_ONLY: readonly string[] = ['DATA_DIR', 'HOST', 'PORT', 'ROLE', 'API_TOKEN', 'ADMIN_TOKEN'] satisfies ServiceOnly[]

/**
 * A worker's environment settings, named for code (`SMS_WEBHOOK_URL` is `smsWebhookUrl`,
 * `POLL_INTERVAL_MS` is `pollIntervalMs`), with the same defaults and the same checks:
 * README's configuration table describes each. Only `databaseUrl` is required.
 */
export type DispatcherOptions = { databaseUrl: string } & {
  [Setting in Exclude<keyof Config, ServiceOnly> as CamelCase<Setting>]?: Config[Setting]
}

export interface RunningDispatcher {
  /** Stops claiming, waits for the sends in flight and records their outcomes, then closes its connections. */
  stop(): Promise<void>
}

/**
 * Runs a dispatcher in this process, as `ROLE=worker` does: it sends what commits (your
 * `enqueue` calls and anyone else's) through the configured provider, retries, expires,
 * and erases old personal data. Rejects with a ConfigError naming the bad setting, and
 * when the database lacks migrations (call `migrate(databaseUrl)` first). Several
 * dispatchers, in-process or `ROLE=worker` services, may share one database.
 */
export async function startDispatcher(options: DispatcherOptions): Promise<RunningDispatcher> {
  const config = loadConfig(environmentOf(options))
  const databaseUrl = config.DATABASE_URL
  if (!databaseUrl) throw new ConfigError('invalid configuration: databaseUrl is required')
  const log = createLogger(config.LOG_LEVEL)
  const pool = connectPool(databaseUrl, {
    poolSize: config.DATABASE_POOL_SIZE,
    onError: (error) => log.warn({ err: error }, 'idle database connection lost'),
  })
  try {
    const pending = await pendingMigrations(pool)
    if (pending.length > 0) {
      throw new Error(`the database lacks migrations ${pending.join(', ')}: call migrate(databaseUrl) first`)
    }
  } catch (error) {
    await pool.end()
    throw error
  }
  const alerts = createAlerter({ url: config.ALERT_WEBHOOK_URL, windowMs: config.ALERT_WINDOW_MS, log: log.child({ component: 'alerts' }) })
  const worker = runDispatcher({ config, databaseUrl, pool, log, alerts })
  log.info(`sms-outbox dispatcher started in-process (provider ${worker.provider.name})`)
  let stopping: Promise<void> | undefined
  return {
    stop: () =>
      (stopping ??= (async () => {
        await worker.stop()
        await alerts.close()
        await pool.end()
        log.info('sms-outbox dispatcher stopped')
      })()),
  }
}

/** The options as the environment would spell them, so that loadConfig checks them as it checks the service's. */
function environmentOf(options: DispatcherOptions): Record<string, string | undefined> {
  const environment: Record<string, string | undefined> = {}
  for (const [option, value] of Object.entries(options)) {
    const setting = option.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()
    if (!(setting in configSchema.properties) || SERVICE_ONLY.includes(setting)) {
      throw new ConfigError(`invalid configuration: ${option} is not a dispatcher option`)
    }
    if (value !== undefined) environment[setting] = String(value)
  }
  return environment
}
