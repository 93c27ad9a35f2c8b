import { parseRetryAfter } from './http-failure.ts'
import { describeAnswer, parseJsonObject } from './provider-answer.ts'
import type { OutcomeKind, RecipientRefusal } from '../domain/outcome.ts'
import type { SendOutcome } from './provider.ts'

type FailureKind = Exclude<OutcomeKind, 'ok'>

const codes = (kind: FailureKind, ...statusCodes: string[]) => statusCodes.map((code) => [code, kind] as const)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i))

/**
 * The `statusCode` of a message SOLAPI answered with HTTP 200 but did not accept (it accepts
 * with "2000"), from docs/providers.md (sources there). Later rows override the 1010-1034 range.
 */
export const SOLAPI_STATUS_CODE_KINDS: ReadonlyMap<string, FailureKind> = new Map<string, FailureKind>([
  // Missing fields, bad format or encoding (1029: not EUC-KR), too long (1031).
  ...codes('permanent', ...range(1010, 1034)),
  // No balance (1020, 1030, 2230), sender number not registered (1062, 2062), blocked account (2063).
  ...codes('account', '1020', '1030', '2230', '1062', '2062', '2063'),
  // SOLAPI's own server errors.
  ...codes('retryable', '1024', '2024', '3024'),
  // Recipient opted out (1060/2060, 1061/2061: 080), spam (2254), refused by the carrier (3xxx).
  ...codes('permanent', '1060', '2060', '1061', '2061', '1064', '2064', '2254', '3010', '3013', '3032', '3050'),
])

/**
 * The refusing `statusCode`s that are about the number itself: it goes on the suppression
 * list. 1060/2060 and 1061/2061: the recipient refused messages from this sender (080
 * opt-out), per docs/providers.md. Spam (2254) and carrier refusals (3xxx) judge the
 * message or the sender, not the number, so they are not here.
 */
export const SOLAPI_SUPPRESSING_STATUS_CODES: ReadonlyMap<string, RecipientRefusal> = new Map<string, RecipientRefusal>([
  ['1060', 'opted_out'],
  ['2060', 'opted_out'],
  ['1061', 'opted_out'],
  ['2061', 'opted_out'],
])

/** SOLAPI's `errorCode` on a non-200 answer, which decides before the HTTP status. */
export const SOLAPI_ERROR_CODE_KINDS: ReadonlyMap<string, OutcomeKind> = new Map<string, OutcomeKind>([
  ['ValidationError', 'permanent'],
  ['NotEnoughBalance', 'account'],
  ['InvalidAPIKey', 'account'],
  ['SignatureDoesNotMatch', 'account'],
  ['RequestTimeTooSkewed', 'account'],
  // The signature was refused, not the message: the next attempt signs with a new salt.
  ['DuplicatedSignature', 'retryable'],
  // Answers to sending a group again: the first send went through.
  ['AlreadySent', 'ok'],
  ['GroupInProcessing', 'ok'],
  ['TooManyRequests', 'rate_limited'],
])

/** The HTTP status, when the body names no errorCode we know. */
export const SOLAPI_HTTP_STATUS_KINDS: ReadonlyMap<number, FailureKind> = new Map<number, FailureKind>([
  [400, 'permanent'],
  // SOLAPI documents its auth failures as 403, but a 401 (from SOLAPI or a gateway before
  // it) says the same: the credentials, which stop every message.
  [401, 'account'],
  [402, 'account'],
  // Every 403 SOLAPI documents is about the credentials, which stop every message; a
  // permanent verdict would fail the whole queue one message at a time instead of pausing.
  [403, 'account'],
  [404, 'permanent'],
  [429, 'rate_limited'],
  // 503 says the request was not processed; the other 5xx may come after it was.
  [503, 'retryable'],
  [500, 'ambiguous'],
  [502, 'ambiguous'],
  [504, 'ambiguous'],
])

/** What SOLAPI's answer to `POST /messages/v4/send` means for the message. */
export function outcomeOfSolapiResponse(
  httpStatus: number,
  headers: Record<string, string | string[] | undefined>,
  bodyText: string,
): SendOutcome {
  const body = parseJsonObject(bodyText)
  if (httpStatus >= 200 && httpStatus < 300) return outcomeOfJudgedMessage(httpStatus, body, bodyText)
  return outcomeOfSolapiRefusal(httpStatus, headers, body, bodyText)
}

/** The `customFields` key that carries the outbox's message id through a send-many call. */
export const OUTBOX_ID_FIELD = 'outboxId'

/** One message of a send-many request: the outbox id and the `to` SOLAPI was sent. */
export interface SentMessage {
  id: string
  to: string
}

/**
 * How a send-many answer's verdicts were tied to the request's messages:
 * - `customFields`: each item carried back the outbox id we sent (the SDK's schema makes
 *   customFields optional, so the live API may leave it out);
 * - `position`: no item had it, but one list holds exactly the request's messages, each with
 *   the `to` of the message at its place;
 * - `group_count`: no item can be placed, but the group says nothing was refused;
 * - `none`: no verdict can be tied to a message, so each is ambiguous.
 */
export type SolapiBatchMatching = 'customFields' | 'position' | 'group_count' | 'none'

/**
 * What SOLAPI's answer to `POST /messages/v4/send-many/detail` means for each message of
 * the request, in the order of `sent`. A refused request (non-2xx) is the same outcome for
 * every message. A 2xx judges each message in `messageList` or `failedMessageList`, matched
 * by the id sent in `customFields` first, since neither list promises the request's order.
 * A message nothing places may or may not have been taken: ambiguous.
 */
export function outcomesOfSolapiBatchResponse(
  httpStatus: number,
  headers: Record<string, string | string[] | undefined>,
  bodyText: string,
  sent: readonly SentMessage[],
): { outcomes: SendOutcome[]; matchedBy?: SolapiBatchMatching } {
  const body = parseJsonObject(bodyText)
  if (httpStatus < 200 || httpStatus >= 300) {
    const outcome = outcomeOfSolapiRefusal(httpStatus, headers, body, bodyText)
    return { outcomes: sent.map(() => outcome) }
  }
  const judge = (verdict: Record<string, unknown> | undefined) =>
    verdict ? outcomeOfJudgedMessage(httpStatus, verdict, '') : unmentioned
  const unmentioned: SendOutcome = {
    kind: 'ambiguous',
    errorCode: `http_${httpStatus}`,
    errorMessage: describeAnswer(`SOLAPI answered HTTP ${httpStatus} without a verdict on this message`, body ? '' : bodyText),
    httpStatus,
  }
  const lists = [body?.messageList, body?.failedMessageList].map(objectItems)
  const byOutboxId = new Map<string, Record<string, unknown>>()
  for (const item of lists.flat()) {
    const id = textField(item.customFields as Record<string, unknown> | undefined, OUTBOX_ID_FIELD)
    if (id !== undefined) byOutboxId.set(id, item)
  }
  if (byOutboxId.size > 0) return { outcomes: sent.map((m) => judge(byOutboxId.get(m.id))), matchedBy: 'customFields' }
  const inOrder = lists.find(
    (list) => list.length === sent.length && list.every((item, i) => textField(item, 'to') === sent[i].to),
  )
  if (inOrder) return { outcomes: inOrder.map(judge), matchedBy: 'position' }
  if (nothingRefused(body, sent.length)) return { outcomes: sent.map(() => ({ kind: 'ok', httpStatus })), matchedBy: 'group_count' }
  return { outcomes: sent.map(() => unmentioned), matchedBy: 'none' }
}

/**
 * The group took every message: its count says none failed registration and no
 * failedMessageList names one. Each message is then sent, though without its messageId.
 */
function nothingRefused(body: Record<string, unknown> | undefined, sentCount: number): boolean {
  const count = (body?.groupInfo as { count?: Record<string, unknown> } | undefined)?.count
  if (count?.registeredFailed !== 0) return false
  if (typeof count.total === 'number' && count.total !== sentCount) return false
  const failed = body?.failedMessageList
  return failed === undefined || (Array.isArray(failed) && failed.length === 0)
}

function objectItems(list: unknown): Record<string, unknown>[] {
  return Array.isArray(list)
    ? list.filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null)
    : []
}

/** A non-2xx: SOLAPI refused the request before judging any message in it. */
function outcomeOfSolapiRefusal(
  httpStatus: number,
  headers: Record<string, string | string[] | undefined>,
  body: Record<string, unknown> | undefined,
  bodyText: string,
): SendOutcome {
  const errorCode = textField(body, 'errorCode')
  const kind =
    (errorCode === undefined ? undefined : SOLAPI_ERROR_CODE_KINDS.get(errorCode)) ??
    SOLAPI_HTTP_STATUS_KINDS.get(httpStatus) ??
    (httpStatus >= 500 ? 'ambiguous' : 'permanent')
  if (kind === 'ok') return { kind, httpStatus }
  // 429 carries its text in `message`; every other error in `errorMessage`.
  const detail = textField(body, 'errorMessage') ?? textField(body, 'message') ?? bodyText
  const failure = {
    kind,
    errorCode: errorCode ?? `http_${httpStatus}`,
    errorMessage: describeAnswer(`SOLAPI answered HTTP ${httpStatus}${errorCode ? ` ${errorCode}` : ''}`, detail),
    httpStatus,
  }
  if (kind !== 'rate_limited') return failure
  const retryAfterMs = parseRetryAfter(headers['x-retry-after']) ?? parseRetryAfter(headers['retry-after'])
  return retryAfterMs === undefined ? failure : { ...failure, retryAfterMs }
}

/**
 * A 2xx: SOLAPI read the message and its `statusCode` says what it decided. `body` is the
 * message's own result: the whole answer of a single send, one list item of a send-many.
 */
function outcomeOfJudgedMessage(
  httpStatus: number,
  body: Record<string, unknown> | undefined,
  bodyText: string,
): SendOutcome {
  const statusCode = textField(body, 'statusCode')
  if (statusCode === '2000') {
    const messageId = textField(body, 'messageId')
    return messageId ? { kind: 'ok', providerMessageId: messageId, httpStatus } : { kind: 'ok', httpStatus }
  }
  if (statusCode === undefined) {
    // A 2xx we cannot read (a proxy's page, a changed API): SOLAPI may have accepted it.
    return {
      kind: 'ambiguous',
      errorCode: `http_${httpStatus}`,
      errorMessage: describeAnswer(`SOLAPI answered HTTP ${httpStatus} without a statusCode`, bodyText),
      httpStatus,
    }
  }
  const kind = SOLAPI_STATUS_CODE_KINDS.get(statusCode) ?? kindOfUnknownStatusCode(statusCode)
  const failure = {
    kind,
    errorCode: statusCode,
    errorMessage: describeAnswer(`SOLAPI refused the message with statusCode ${statusCode}`, textField(body, 'statusMessage') ?? ''),
    httpStatus,
  }
  const suppress = kind === 'permanent' ? SOLAPI_SUPPRESSING_STATUS_CODES.get(statusCode) : undefined
  return suppress ? { ...failure, suppress } : failure
}

/**
 * An unlisted 1xxx-3xxx is permanent. A 200 means SOLAPI read the message and judged it, so
 * this is not a transport failure (ambiguous would be wrong), and SOLAPI's transient server
 * errors are the x024 codes already listed: the rest of these ranges are validation, account
 * and carrier refusals, which a retry repeats while burning attempts. Permanent shows the code
 * to an admin, who can add it to the table. Outside those ranges we cannot tell whether the
 * message went out, so ambiguous.
 */
function kindOfUnknownStatusCode(statusCode: string): FailureKind {
  return /^[123]\d{3}$/.test(statusCode) ? 'permanent' : 'ambiguous'
}

function textField(body: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = body?.[name]
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined
}
