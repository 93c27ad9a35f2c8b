import type { OutcomeKind, RecipientRefusal } from '../domain/outcome.ts'
import type { MessageType } from '../sms/message-encoding.ts'

export type SendOutcome =
  | { kind: 'ok'; providerMessageId?: string; httpStatus?: number }
  | {
      kind: Exclude<OutcomeKind, 'ok'>
      /** The provider's own code where it gives one, else ours (e.g. `timeout`, `http_503`). */
      errorCode: string
      errorMessage: string
      httpStatus?: number
      retryAfterMs?: number
      /** Only with `permanent`: the fault is the recipient's, so suppress the number. */
      suppress?: RecipientRefusal
    }

/** One SMS as a provider receives it. */
export interface OutgoingSms {
  id: string
  to: string
  text: string
  type: MessageType
}

/**
 * A provider's final word on a message it took: the carrier delivered it, or gave up.
 * Receipts that are not final (queued, sent to the carrier) are never passed on.
 */
export interface DeliveryReceipt {
  /** The provider's id of the message, as its send answered (messages.provider_message_id). */
  providerMessageId: string
  status: 'delivered' | 'undelivered'
  /** The provider's code for an undelivered message, when it gives one. */
  errorCode: string | null
  /** When the provider says it happened; unset = when we learn it. */
  at?: Date
}

export interface SmsProvider {
  /** Recorded on each message; `console`, `webhook`, ... */
  readonly name: string
  /** Never rejects: every failure is an outcome. `signal` aborts at PROVIDER_TIMEOUT_MS. */
  send(sms: OutgoingSms, signal: AbortSignal): Promise<SendOutcome>
  /** With `sendMany`: the most messages one call may carry. */
  readonly batchLimit?: number
  /**
   * Several messages in one call, where the provider has a batch endpoint with a verdict
   * per message: one outcome per message, in the order given. Never rejects.
   */
  sendMany?(batch: OutgoingSms[], signal: AbortSignal): Promise<SendOutcome[]>
  /**
   * Where receipts must be asked for rather than pushed (SOLAPI): the final receipts among
   * these messages, at most `receiptBatchLimit` ids per call. Messages still on their way,
   * or unknown to the provider, are left out. Rejects when the provider cannot answer.
   */
  checkDeliveries?(providerMessageIds: string[], signal: AbortSignal): Promise<DeliveryReceipt[]>
  readonly receiptBatchLimit?: number
  /**
   * The provider pushes receipts to the API (Twilio's status callbacks, with PUBLIC_URL):
   * one can arrive before the send is recorded, so workers apply early receipts.
   */
  readonly pushesReceipts?: boolean
  close?(): Promise<void>
}
