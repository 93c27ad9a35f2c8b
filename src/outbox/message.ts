import type { MessageType } from '../sms/message-encoding.ts'
import type { OutcomeKind } from '../providers/provider.ts'

/** `sent`, `dead`, `expired` and `canceled` are terminal: nothing but an admin moves them. */
export type MessageStatus = 'pending' | 'sending' | 'sent' | 'dead' | 'expired' | 'canceled'

/** A message row as the API returns it (full number; the HTTP layer masks it). */
export interface MessageRecord {
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
