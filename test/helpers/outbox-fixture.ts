import { pino } from 'pino'
import { enqueueMessages, type NewMessage } from '../../src/outbox/enqueue.ts'
import { Dispatcher, type DispatcherOptions } from '../../src/outbox/dispatcher.ts'
import { prepareMessage, type MessageRequest } from '../../src/outbox/prepare-message.ts'
import { createWebhookProvider } from '../../src/providers/webhook-provider.ts'
import type { SmsProvider } from '../../src/providers/provider.ts'
import type { TestDatabase } from './test-database.ts'

export const silentLog = pino({ level: 'silent' })

/** Small delays so schedules play out in milliseconds: 40, 80, 160, 200, 200 ms. */
export const fastBackoff = { baseDelayMs: 40, maxDelayMs: 200, jitter: 'none' as const }

export function webhookDispatcher(
  db: TestDatabase,
  webhookUrl: string,
  overrides: Partial<DispatcherOptions> = {},
): { dispatcher: Dispatcher; provider: SmsProvider } {
  const provider = overrides.provider ?? createWebhookProvider(webhookUrl)
  const dispatcher = new Dispatcher({
    prisma: db.prisma,
    pool: db.pool,
    provider,
    log: silentLog,
    alerts: { notify: () => {}, close: async () => {} },
    backoff: fastBackoff,
    leaseMs: 5_000,
    providerTimeoutMs: 1_000,
    batchSize: 50,
    concurrency: 16,
    pollIntervalMs: 50,
    probeIntervalMs: 200,
    ...overrides,
  })
  return { dispatcher, provider }
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

/** Ticks until `id` is terminal (or `limit` ticks pass), sleeping briefly while nothing is due. */
export async function tickUntilSettled(db: TestDatabase, dispatcher: Dispatcher, id: string, limit = 200): Promise<string> {
  for (let i = 0; i < limit; i += 1) {
    const [row] = await db.sql<{ status: string }>('SELECT status FROM sms_outbox.messages WHERE id = $1', [id])
    if (['sent', 'dead', 'expired', 'canceled'].includes(row.status)) return row.status
    const { claimed } = await dispatcher.tick()
    if (claimed === 0) await new Promise((done) => setTimeout(done, 10))
  }
  throw new Error(`message ${id} still not settled after ${limit} ticks`)
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
