// `import { createOutbox } from 'sms-outbox'`: enqueue an SMS inside your own transaction.
export { createOutbox } from './create-outbox.ts'
export type { Outbox } from './create-outbox.ts'
export type { OutboxMessage, ResultReadyNotification } from './input-check.ts'
export type { OutboxOptions } from './outbox-settings.ts'
export type { PrismaTransaction, Transaction } from './transaction.ts'
export { ConfigError } from '../config.ts'
export { IdempotencyConflict } from '../outbox/enqueue.ts'
export type { Enqueued, Queryable } from '../outbox/enqueue.ts'
export { RecipientSuppressed } from '../outbox/recipient-suppressed.ts'
export type { MessageRecord, MessageStatus } from '../outbox/message.ts'
export { InvalidMessage } from '../outbox/prepare-message.ts'
// The tables the outbox writes: apply the migrations once per database (as `npx sms-outbox migrate`).
export { applyMigrations } from '../db/migrations.ts'
