import type { Logger } from 'pino'
import type { Alerter } from './alerts/alerter.ts'
import { providerRateLimit, type Config } from './config.ts'
import type pg from 'pg'
import { Dispatcher } from './outbox/dispatch/dispatcher.ts'
import { listenForDueMessages } from './outbox/dispatch/due-notifications.ts'
import type { LocalEnqueues } from './outbox/enqueue/local-enqueues.ts'
import type { AttemptMetrics, ReceiptMetrics } from './outbox/dispatch/outcome-metrics.ts'
import { startQueueSampler } from './metrics/queue-samples.ts'
import { ReceiptPoller } from './outbox/dispatch/receipt-poller.ts'
import { startEarlyReceipts } from './outbox/dispatch/early-receipts.ts'
import { startHousekeeping } from './outbox/housekeeping/housekeeping.ts'
import { createProvider } from './providers/create-provider.ts'
import type { SmsProvider } from './providers/provider.ts'

// The admin page's queue chart keeps one reading a minute. Twice a minute, so that timer
// drift never skips one; the first reading of a minute (of any worker) is the one kept.
const QUEUE_SAMPLE_INTERVAL_MS = 30_000

export interface RunningDispatcher {
  provider: SmsProvider
  /** Stops claiming, lets in-flight sends finish and records them, then closes the provider. */
  stop(): Promise<void>
}

export interface RunDispatcherOptions {
  config: Config
  /** For LISTEN, on a connection of its own (a pool's clients come and go). */
  databaseUrl: string
  /** Every statement of the worker runs on it (the worker never loads Prisma). */
  pool: pg.Pool
  log: Logger
  alerts: Alerter
  metrics?: AttemptMetrics & ReceiptMetrics
  /** The API's inserts in this process (ROLE=all): they wake the dispatcher directly. */
  localEnqueues?: LocalEnqueues
}

/**
 * What a worker does, on a database that has every migration: a dispatcher sending through
 * SMS_PROVIDER, woken by the insert trigger's NOTIFY (polling as a fallback) or, for
 * the API's inserts in the same process, by the API itself (LocalEnqueues); the
 * housekeeping loop (retention and pruning); the queue sampler of the admin page's
 * chart; where the provider's receipts must be asked for, the receipt poller; and where
 * they are pushed, the pass that applies receipts which came before their send was
 * recorded. The service's entry (main.ts) and the library's startDispatcher both run it.
 */
export function runDispatcher({ config, databaseUrl, pool, log, alerts, metrics, localEnqueues }: RunDispatcherOptions): RunningDispatcher {
  const provider = createProvider(config, log)
  // Receipts that must be asked for (SOLAPI); Twilio pushes its own to the API (PUBLIC_URL).
  const pollsReceipts = provider.checkDeliveries !== undefined && config.RECEIPT_POLL_INTERVAL_MS > 0
  const dispatcher = new Dispatcher({
    pool,
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
    ...(pollsReceipts ? { deliveryCheckAfterMs: config.RECEIPT_POLL_INTERVAL_MS } : {}),
  })
  const notifications = listenForDueMessages(databaseUrl, {
    onDue: () => dispatcher.wake(),
    onError: (error) => log.warn({ err: error }, 'LISTEN connection lost; polling until it is back'),
    ignoreSender: localEnqueues && ((processId) => localEnqueues.sentByPool(processId)),
  })
  localEnqueues?.onDue(() => notifications.inserted())
  dispatcher.start()
  const housekeeping = startHousekeeping({ pool }, {
    retentionHours: config.RETENTION_HOURS,
    pruneAfterHours: config.PRUNE_AFTER_HOURS,
    intervalMs: config.HOUSEKEEPING_INTERVAL_MS,
    log: log.child({ component: 'housekeeping' }),
  })
  const queueSampler = startQueueSampler(pool, {
    intervalMs: QUEUE_SAMPLE_INTERVAL_MS,
    log: log.child({ component: 'queue-sampler' }),
  })
  const receiptPoller = pollsReceipts
    ? new ReceiptPoller({
        pool,
        provider,
        log: log.child({ component: 'receipts' }),
        intervalMs: config.RECEIPT_POLL_INTERVAL_MS,
        ttlSeconds: config.MESSAGE_TTL_SECONDS,
        batchSize: config.DISPATCH_BATCH_SIZE,
        timeoutMs: config.PROVIDER_TIMEOUT_MS,
        metrics,
        alerts,
      })
    : undefined
  receiptPoller?.start()
  const earlyReceipts = provider.pushesReceipts
    ? startEarlyReceipts(pool, { log: log.child({ component: 'receipts' }), metrics, alerts })
    : undefined
  return {
    provider,
    async stop() {
      await notifications.close()
      await housekeeping.stop()
      await queueSampler.stop()
      await receiptPoller?.stop()
      await earlyReceipts?.stop()
      await dispatcher.stop()
      await provider.close?.()
    },
  }
}
