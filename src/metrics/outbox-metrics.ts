import type { BaseLogger } from 'pino'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Connection } from '../db/sql-statement.ts'
import type { AttemptMetrics, ReceiptMetrics } from '../outbox/dispatch/outcome-metrics.ts'
import type { MessageStatus } from '../outbox/message.ts'
import { listProviderPauses } from '../outbox/dispatch/provider-pauses.ts'
import type { OutcomeKind } from '../domain/outcome.ts'
import { countMessagesByStatus, readDueBacklog, readOldestTransactionAge } from './outbox-readings.ts'
import { sharedReading } from './shared-reading.ts'

// Listed so that every series exists from the first scrape: a rate() or an alert on
// `status="dead"` needs the series before the first dead message, not after.
const STATUSES = ['pending', 'sending', 'sent', 'dead', 'expired', 'canceled'] as const satisfies readonly MessageStatus[]
const OUTCOMES = ['ok', 'retryable', 'ambiguous', 'rate_limited', 'account', 'permanent'] as const satisfies readonly OutcomeKind[]

export interface OutboxMetrics extends AttemptMetrics, ReceiptMetrics {
  /** This process's metrics, for GET /metrics. */
  readonly registry: Registry
}

export interface OutboxMetricsOptions {
  pool: Connection
  /** pino or Fastify's logger: only read failures are logged. */
  log: Pick<BaseLogger, 'warn'>
  /**
   * How long the per-status counts are reused. Counting by status reads the whole
   * messages table (sent rows pile up), too costly to repeat on every scrape of every
   * scraper; a few seconds of lag is harmless for a gauge scraped every 15 s or so.
   */
  statusCountMaxAgeMs?: number
}

/**
 * The outbox's Prometheus metrics, in a registry of their own (not prom-client's global
 * one) so that tests can build several apps in one process. Counters and the histogram
 * are this process's; the database gauges are read at scrape time and are the same from
 * every process sharing the database.
 */
export function createOutboxMetrics({ pool, log, statusCountMaxAgeMs = 5_000 }: OutboxMetricsOptions): OutboxMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })

  // A failed read is logged here, once per reading, not once per gauge that wanted it.
  const logged = <T>(what: string, read: () => Promise<T>) => async (): Promise<T> => {
    try {
      return await read()
    } catch (error) {
      log.warn({ err: error }, `metrics: could not read ${what}; the database gauges keep their last values`)
      throw error
    }
  }
  const statusCounts = sharedReading(logged('message counts', () => countMessagesByStatus(pool)), {
    maxAgeMs: statusCountMaxAgeMs,
  })
  // Index and tiny-table reads: fresh on every scrape, shared only by the gauges of one scrape.
  const dueBacklog = sharedReading(logged('the due backlog', () => readDueBacklog(pool)), { maxAgeMs: 0 })
  const pauses = sharedReading(logged('provider pauses', () => listProviderPauses(pool)), { maxAgeMs: 0 })
  const oldestTransaction = sharedReading(logged('the oldest transaction', () => readOldestTransactionAge(pool)), { maxAgeMs: 0 })

  new Gauge({
    name: 'sms_outbox_database_gauges_up',
    help: '1 if this scrape read the database; 0 means the database gauges below hold their last values',
    registers: [registry],
    async collect() {
      const readings = await Promise.allSettled([statusCounts(), dueBacklog(), pauses(), oldestTransaction()])
      this.set(readings.every((reading) => reading.status === 'fulfilled') ? 1 : 0)
    },
  })

  new Gauge({
    name: 'sms_outbox_messages',
    help: `Messages per status (read at most every ${statusCountMaxAgeMs / 1000} s)`,
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const counts = await statusCounts().catch(() => undefined)
      if (!counts) return
      this.reset()
      for (const status of new Set([...STATUSES, ...counts.keys()])) this.set({ status }, counts.get(status) ?? 0)
    },
  })

  new Gauge({
    name: 'sms_outbox_due_messages',
    help: 'Pending messages whose next attempt is due now: the backlog the dispatchers have not claimed yet',
    registers: [registry],
    async collect() {
      const backlog = await dueBacklog().catch(() => undefined)
      if (backlog) this.set(backlog.due)
    },
  })

  new Gauge({
    name: 'sms_outbox_oldest_due_age_seconds',
    help: 'How long the longest-waiting due message has been due (database clock); 0 when none is due',
    registers: [registry],
    async collect() {
      const backlog = await dueBacklog().catch(() => undefined)
      if (backlog) this.set(backlog.oldestDueAgeSeconds)
    },
  })

  new Gauge({
    name: 'sms_outbox_oldest_transaction_age_seconds',
    help: 'How long the oldest transaction in this database that holds back cleanup has been open (0: none); while it is, old versions of outbox rows pile up and claims slow down',
    registers: [registry],
    async collect() {
      const seconds = await oldestTransaction().catch(() => undefined)
      if (seconds !== undefined) this.set(seconds)
    },
  })

  new Gauge({
    name: 'sms_outbox_provider_paused',
    help: '1 for each provider paused after an account error (a row in provider_pauses)',
    labelNames: ['provider'],
    registers: [registry],
    async collect() {
      const rows = await pauses().catch(() => undefined)
      if (!rows) return
      // A resumed provider's series disappears, which resolves an alert on it.
      this.reset()
      for (const { provider } of rows) this.set({ provider }, 1)
    },
  })

  const attempts = new Counter({
    name: 'sms_outbox_attempts_total',
    help: 'Provider calls made by this process, by outcome',
    labelNames: ['provider', 'outcome'],
    registers: [registry],
  })
  const sendDuration = new Histogram({
    name: 'sms_outbox_send_duration_seconds',
    help: 'Latency of provider calls made by this process, whatever their outcome',
    labelNames: ['provider'],
    // Provider calls take tens of milliseconds to seconds; PROVIDER_TIMEOUT_MS defaults to 10 s.
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  })

  const receipts = new Counter({
    name: 'sms_outbox_receipts_total',
    help: 'Delivery receipts that changed a message, recorded by this process (Twilio callbacks, early ones a worker applied, SOLAPI polls), by status',
    labelNames: ['provider', 'status'],
    registers: [registry],
  })

  const seenProviders = new Set<string>()
  const seenReceiptProviders = new Set<string>()
  return {
    registry,
    recordReceipt(provider, status) {
      if (!seenReceiptProviders.has(provider)) {
        seenReceiptProviders.add(provider)
        for (const each of ['delivered', 'undelivered']) receipts.inc({ provider, status: each }, 0)
      }
      receipts.inc({ provider, status })
    },
    recordAttempt(provider, outcome, seconds) {
      if (!seenProviders.has(provider)) {
        seenProviders.add(provider)
        for (const kind of OUTCOMES) attempts.inc({ provider, outcome: kind }, 0)
      }
      attempts.inc({ provider, outcome })
      sendDuration.observe({ provider }, seconds)
    },
  }
}
