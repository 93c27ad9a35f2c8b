// How a message is shown outside: the REST API's answers and the CLI's --json lines.
import type { AcceptedMessage, MessageDetail, MessageSummaryView, SuppressionView } from '../domain/message-schemas.ts'
import type { AttemptRecord, DeliveryFields, MessageRecord } from '../outbox/message.ts'
import { maskPhoneNumber, redactPhoneNumbers } from '../sms/phone-number.ts'
import { TEXT_PREVIEW_CHARACTERS, type MessageSummary } from './list-messages.ts'
import type { SuppressionEntry } from './suppressions.ts'

/** The delivery receipt, as every view of a message shows it. */
function deliveryView({ deliveryStatus, deliveryAt, deliveryErrorCode }: DeliveryFields): MessageDetail['delivery'] {
  return { status: deliveryStatus, at: deliveryAt?.toISOString() ?? null, errorCode: deliveryErrorCode }
}

/** What a caller sees of a message it just submitted. The number is always masked. */
export function acceptedView(message: MessageRecord): AcceptedMessage {
  return {
    id: message.id,
    status: message.status,
    to: message.to === null ? null : maskPhoneNumber(message.to),
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
    erasedAt: message.erasedAt?.toISOString() ?? null,
    delivery: deliveryView(message),
  }
}

/** A line of the admin list. The number is masked here too. */
export function summaryView({ deliveryStatus, deliveryAt, deliveryErrorCode, ...message }: MessageSummary): MessageSummaryView {
  return {
    ...message,
    delivery: deliveryView({ deliveryStatus, deliveryAt, deliveryErrorCode }),
    to: message.to === null ? null : maskPhoneNumber(message.to),
    createdAt: message.createdAt.toISOString(),
    updatedAt: message.updatedAt.toISOString(),
    nextAttemptAt: message.nextAttemptAt.toISOString(),
    expiresAt: message.expiresAt.toISOString(),
    sentAt: message.sentAt?.toISOString() ?? null,
    erasedAt: message.erasedAt?.toISOString() ?? null,
    // A number written into the text would otherwise show in full in the list.
    textPreview: message.textPreview === null ? null : redactPhoneNumbers(message.textPreview).slice(0, TEXT_PREVIEW_CHARACTERS),
  }
}

/** An entry of the suppression list. The number is masked here too. */
export function suppressionView(entry: SuppressionEntry): SuppressionView {
  return {
    id: entry.id,
    to: maskPhoneNumber(entry.recipient),
    reason: entry.reason,
    errorCode: entry.errorCode,
    provider: entry.provider,
    messageId: entry.messageId,
    createdAt: entry.createdAt.toISOString(),
  }
}
