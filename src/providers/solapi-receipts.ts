/**
 * SOLAPI's delivery results, read from its message list (`GET /messages/v4/list`, the
 * SDK's `getMessages`): each message's `statusCode` moves from 2000 (accepted) and 3000
 * (handed to the carrier) to 4000 (received by the phone) or to a failure code. SOLAPI
 * documents the codes at developers.solapi.com/references/message-status-codes; the
 * official SDK's webhook example says "4000 is success for SMS and Kakao alike".
 */
import { parseJsonObject } from './provider-answer.ts'
import type { DeliveryReceipt } from './provider.ts'

export const SOLAPI_DELIVERED = '4000'

/** Still on its way: accepted by SOLAPI, or handed to the carrier and not yet reported. */
export const SOLAPI_PENDING_STATUS_CODES: ReadonlySet<string> = new Set(['2000', '3000'])

/** Most message ids one list call asks about (the SDK's list calls default to 20 a page). */
export const SOLAPI_LIST_BATCH = 100

/** The `GET /messages/v4/list` path and query for these messages, as the SDK writes it. */
export function solapiListPath(messageIds: readonly string[]): string {
  // The SDK's stringifyQuery with indices: false repeats the key for each id.
  const query = new URLSearchParams([
    ['limit', String(messageIds.length)],
    ...messageIds.map((id): [string, string] => ['messageIds', id]),
  ])
  return `/messages/v4/list?${query}`
}

/**
 * The final receipts in a list answer: `messageList` is an object keyed by message id.
 * 4000 is delivered; 2000 and 3000 (or no code yet) are left out as still pending; any
 * other code is SOLAPI's or the carrier's final refusal, with that code. Throws when the
 * answer is not a list, so that the caller asks again later.
 */
export function receiptsOfSolapiList(bodyText: string): DeliveryReceipt[] {
  const list = parseJsonObject(bodyText)?.messageList
  if (typeof list !== 'object' || list === null) throw new Error('SOLAPI answered the message list without a messageList')
  const receipts: DeliveryReceipt[] = []
  for (const [key, value] of Object.entries(list as Record<string, unknown>)) {
    if (typeof value !== 'object' || value === null) continue
    const item = value as Record<string, unknown>
    const providerMessageId = typeof item.messageId === 'string' ? item.messageId : key
    // The SDK's types say string; a number is read the same rather than polled forever.
    const statusCode =
      typeof item.statusCode === 'string' ? item.statusCode : typeof item.statusCode === 'number' ? String(item.statusCode) : undefined
    if (statusCode === undefined || SOLAPI_PENDING_STATUS_CODES.has(statusCode)) continue
    const at = dateOf(item.dateReceived) ?? dateOf(item.dateReported) ?? dateOf(item.dateUpdated)
    const receipt: DeliveryReceipt =
      statusCode === SOLAPI_DELIVERED
        ? { providerMessageId, status: 'delivered', errorCode: null }
        : { providerMessageId, status: 'undelivered', errorCode: statusCode }
    receipts.push(at ? { ...receipt, at } : receipt)
  }
  return receipts
}

function dateOf(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined
  const time = Date.parse(value)
  return Number.isNaN(time) ? undefined : new Date(time)
}
