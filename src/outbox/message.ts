import type { MessageType } from '../sms/message-encoding.ts'
import type { OutcomeKind } from '../domain/outcome.ts'

/** `sent`, `dead`, `expired` and `canceled` are terminal: nothing but an admin moves them. */
export type MessageStatus = 'pending' | 'sending' | 'sent' | 'dead' | 'expired' | 'canceled'

/**
 * What the provider's delivery receipt said: `unknown` until one arrives (or when the
 * provider sends none). A receipt never changes the outbox status, which stays `sent`.
 */
export type DeliveryStatus = 'unknown' | 'delivered' | 'undelivered'

/** A message's receipt, as every view of a message shows it. */
export interface DeliveryFields {
  deliveryStatus: DeliveryStatus
  deliveryAt: Date | null
  /** The provider's code for an undelivered message. */
  deliveryErrorCode: string | null
}

/** A message row as the API returns it (full number; the HTTP layer masks it). */
export interface MessageRecord extends DeliveryFields {
  id: string
  status: MessageStatus
  /** null once the retention job erased it */
  to: string | null
  text: string | null
  type: MessageType
  bytes: number
  attempts: number
  maxRetries: number
  nextAttemptAt: Date
  lastErrorCode: string | null
  lastError: string | null
  provider: string | null
  providerMessageId: string | null
  metadata: unknown
  createdAt: Date
  updatedAt: Date
  sentAt: Date | null
  expiresAt: Date
  erasedAt: Date | null
}

export interface AttemptRecord {
  attempt: number
  startedAt: Date
  finishedAt: Date | null
  /** null while the call is in flight */
  outcome: OutcomeKind | null
  errorCode: string | null
  errorMessage: string | null
  httpStatus: number | null
  latencyMs: number | null
}
