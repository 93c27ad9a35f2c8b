import type { OutcomeKind } from '../../domain/outcome.ts'

// Where the outbox reports what happened. The metrics registry implements these; the
// outbox only knows the shapes, so the dependency runs from metrics to the outbox.

/** The dispatcher: one call per provider call. */
export interface AttemptMetrics {
  /** One provider call, its outcome, and how long the provider took (seconds). */
  recordAttempt(provider: string, outcome: OutcomeKind, seconds: number): void
}

/** Taking in delivery receipts: one call per receipt that changed a message. */
export interface ReceiptMetrics {
  recordReceipt(provider: string, status: 'delivered' | 'undelivered'): void
}
