import type { AttemptRecord, MessageRecord } from '../outbox/message.ts'
import { maskPhoneNumber } from '../sms/phone-number.ts'
import type { AcceptedMessage, MessageDetail } from './message-schemas.ts'

/** What a caller sees of a message it just submitted. The number is always masked. */
export function acceptedView(message: MessageRecord): AcceptedMessage {
  return {
    id: message.id,
    status: message.status,
    to: maskPhoneNumber(message.to),
    type: message.type,
    bytes: message.bytes,
    nextAttemptAt: message.nextAttemptAt.toISOString(),
    createdAt: message.createdAt.toISOString(),
  }
}

/** A message with its attempt history. */
export function detailView(message: MessageRecord, attempts: AttemptRecord[]): MessageDetail {
  return {
    ...acceptedView(message),
    text: message.text,
    maxRetries: message.maxRetries,
    attemptCount: message.attempts,
    attempts: attempts.map((attempt) => ({
      ...attempt,
      startedAt: attempt.startedAt.toISOString(),
      finishedAt: attempt.finishedAt?.toISOString() ?? null,
    })),
    lastErrorCode: message.lastErrorCode,
    lastError: message.lastError,
    provider: message.provider,
    providerMessageId: message.providerMessageId,
    metadata: message.metadata ?? null,
    updatedAt: message.updatedAt.toISOString(),
    sentAt: message.sentAt?.toISOString() ?? null,
    expiresAt: message.expiresAt.toISOString(),
  }
}
