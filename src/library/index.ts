// `import { createOutbox, migrate, startDispatcher } from 'sms-outbox'`: enqueue an SMS
// inside your own transaction, and send it from your own process or from the service.
// Importing has no effect of its own: nothing starts, listens or logs until called.
export { createOutbox } from './create-outbox.ts'
export type { Outbox } from './create-outbox.ts'
export type { OutboxMessage, ResultReadyNotification } from './input-check.ts'
export type { OutboxOptions } from './outbox-settings.ts'
export type { PrismaTransaction, Transaction } from './transaction.ts'
export { migrate } from './migrate.ts'
export { startDispatcher } from './start-dispatcher.ts'
export type { DispatcherOptions, RunningDispatcher } from './start-dispatcher.ts'
export { ConfigError } from '../config.ts'
export { IdempotencyConflict } from '../outbox/enqueue/enqueue.ts'
export type { Queryable } from '../db/queryable.ts'
export type { Enqueued } from '../outbox/enqueue/enqueue.ts'
export { RecipientSuppressed } from '../outbox/enqueue/recipient-suppressed.ts'
export type { MessageRecord, MessageStatus } from '../outbox/message.ts'
export { InvalidMessage } from '../outbox/enqueue/prepare-message.ts'
export { withRetry } from './with-retry.ts'
export type { WithRetryOptions } from './with-retry.ts'
// As migrate, returning the names of the migrations it applied.
export { applyMigrations } from '../db/migrations.ts'
