import { pino } from 'pino'
import { enqueueMessages, type NewMessage } from '../../src/outbox/enqueue/enqueue.ts'
import {
  Dispatcher,
  type AttemptEnd,
  type DispatcherOptions,
  type DispatcherSignals,
  type PassSummary,
} from '../../src/outbox/dispatch/dispatcher.ts'
import { prepareMessage, type MessageRequest } from '../../src/outbox/enqueue/prepare-message.ts'
import { createWebhookProvider } from '../../src/providers/webhook-provider.ts'
import type { SmsProvider } from '../../src/providers/provider.ts'
import type { TestDatabase } from './test-database.ts'

export const silentLog = pino({ level: 'silent' })

/** Small delays so schedules play out in milliseconds: 40, 80, 160, 200, 200 ms. */
export const fastBackoff = { baseDelayMs: 40, maxDelayMs: 200, jitter: 'none' as const }

/**
 * A running dispatcher's test signals, as promises: tests wait for what the loop did
 * (a pass ended, an attempt was recorded) instead of sleeping. Every wait is open-ended;
 * tap's per-file timeout is what fails a test whose awaited moment never comes.
 */
export class DispatcherWatch {
  readonly passes: PassSummary[] = []
  readonly attempts: { id: string; end: AttemptEnd }[] = []
  readonly #checks = new Set<() => void>()
  readonly signals: DispatcherSignals = {
    passed: (summary) => {
      this.passes.push(summary)
      this.#signalled()
    },
    attempted: (attempt) => {
      this.attempts.push(attempt)
      this.#signalled()
    },
  }

  /** Resolves once `condition` holds: checked now, then after every signal. */
  until(condition: () => boolean | Promise<boolean>): Promise<void> {
    return new Promise((resolve, reject) => {
      let checking = false
      let again = false
      const check = async () => {
        // One check at a time; a signal during one asks for another after it.
        if (checking) {
          again = true
          return
        }
        checking = true
        try {
          do {
            again = false
            if (await condition()) {
              this.#checks.delete(check)
              resolve()
              return
            }
          } while (again)
        } catch (error) {
          this.#checks.delete(check)
          reject(error)
        } finally {
          checking = false
        }
      }
      this.#checks.add(check)
      void check()
    })
  }

  /** The summary of the loop's `n`-th pass (from 1), once it has ended. */
  async pass(n = 1): Promise<PassSummary> {
    await this.until(() => this.passes.length >= n)
    return this.passes[n - 1]
  }

  /**
   * The next `count` passes that started after this call. The first pass to end may
   * have begun before it (and claimed before the caller's change), so it is skipped.
   */
  async nextPasses(count = 1): Promise<PassSummary[]> {
    const from = this.passes.length + 1
    await this.until(() => this.passes.length >= from + count)
    return this.passes.slice(from, from + count)
  }

  /** Resolves with the end of `id`'s attempt number `n` (counting every attempt this dispatcher made of it). */
  async attempt(id: string, n = 1): Promise<AttemptEnd> {
    const mine = () => this.attempts.filter((attempt) => attempt.id === id)
    await this.until(() => mine().length >= n)
    return mine()[n - 1].end
  }

  /** Resolves with `id`'s status once it is terminal (sent, dead, expired, canceled). */
  async settled(db: TestDatabase, id: string): Promise<string> {
    let status = ''
    await this.until(async () => {
      ;[{ status }] = await db.sql<{ status: string }>('SELECT status FROM sms_outbox.messages WHERE id = $1', [id])
      return TERMINAL.includes(status)
    })
    return status
  }

  #signalled(): void {
    for (const check of this.#checks) check()
  }
}

const TERMINAL = ['sent', 'dead', 'expired', 'canceled']

export interface WatchedDispatcher {
  dispatcher: Dispatcher
  provider: SmsProvider
  watch: DispatcherWatch
}

export function webhookDispatcher(db: TestDatabase, webhookUrl: string, overrides: Partial<DispatcherOptions> = {}): WatchedDispatcher {
  const provider = overrides.provider ?? createWebhookProvider(webhookUrl)
  const watch = new DispatcherWatch()
  const dispatcher = new Dispatcher({
    pool: db.pool,
    provider,
    log: silentLog,
    alerts: { notify: () => {}, close: async () => {} },
    backoff: fastBackoff,
    leaseMs: 5_000,
    // Far above a local answer even on two busy cores: a timeout here would be a retry no test asked for.
    providerTimeoutMs: 10_000,
    batchSize: 50,
    concurrency: 16,
    pollIntervalMs: 50,
    probeIntervalMs: 200,
    signals: watch.signals,
    ...overrides,
  })
  return { dispatcher, provider, watch }
}

/** A dispatcher already running its loop; stopped when the test ends, and a provider it made closed. */
export function runningDispatcher(
  t: { teardown(fn: () => unknown): void },
  db: TestDatabase,
  webhookUrl: string,
  overrides: Partial<DispatcherOptions> = {},
): WatchedDispatcher {
  const running = webhookDispatcher(db, webhookUrl, overrides)
  running.dispatcher.start()
  t.teardown(async () => {
    await running.dispatcher.stop()
    if (!overrides.provider) await running.provider.close?.()
  })
  return running
}

export async function enqueue(
  db: TestDatabase,
  request: Partial<MessageRequest> = {},
  extra: Partial<NewMessage> = {},
): Promise<string> {
  const message = prepareMessage({ to: '010-1234-5678', text: 'hello', ...request }, { defaultMaxRetries: 3 })
  const [result] = await enqueueMessages(db.pool, [{ ...message, ...extra }], 86_400)
  return result.message.id
}

export interface AttemptRow {
  attempt: number
  outcome: string | null
  error_code: string | null
  http_status: number | null
  started_at: Date
  finished_at: Date | null
}

export function attemptsOf(db: TestDatabase, id: string): Promise<AttemptRow[]> {
  return db.sql<AttemptRow>(
    `SELECT attempt, outcome, error_code, http_status, started_at, finished_at
     FROM sms_outbox.message_attempts WHERE message_id = $1 ORDER BY attempt`,
    [id],
  )
}
