import { parseRetryAfter } from './http-failure.ts'
import { describeAnswer, parseJsonObject } from './provider-answer.ts'
import type { OutcomeKind, RecipientRefusal } from '../domain/outcome.ts'
import type { SendOutcome } from './provider.ts'

type FailureKind = Exclude<OutcomeKind, 'ok'>

/**
 * Twilio error codes and what each means for a message, from docs/providers.md (sources
 * there). The code decides before the HTTP status: Twilio answers 400 for faults of the
 * account (21606, 21608, 21212) as well as of the message.
 */
export const TWILIO_CODE_KINDS: ReadonlyMap<number, FailureKind> = new Map<number, FailureKind>([
  [20429, 'rate_limited'], // never processed
  [20503, 'retryable'],
  [20500, 'ambiguous'], // Twilio: "may send twice if retried"
  [20003, 'account'], // authentication
  [21606, 'account'], // From is not capable of sending to this destination
  [21408, 'account'], // sending to this region is disabled
  [21608, 'account'], // trial account, unverified To
  // The sender or the account is set up wrong: every message would fail the same way.
  [20404, 'account'], // not found: the Account SID in the URL is not an account
  [21212, 'account'], // invalid From number
  [21603, 'account'], // From (or MessagingServiceSid) missing
  [21660, 'account'], // From does not belong to this account
  [21211, 'permanent'], // invalid To
  [21614, 'permanent'], // To is not a mobile number
  [21635, 'permanent'], // To is a landline
  [21610, 'permanent'], // the recipient replied STOP
  [21612, 'permanent'], // this From cannot reach this To
  [21617, 'permanent'], // body too long
  [21611, 'retryable'], // the sender's queue is over 10 hours long
])

/**
 * The permanent codes that are about the number itself rather than this message or this
 * sender: the number goes on the suppression list. 21612 (this From cannot reach this To)
 * is the sender's route, and another sender could get through, so it is not here.
 */
export const TWILIO_SUPPRESSING_CODES: ReadonlyMap<number, RecipientRefusal> = new Map<number, RecipientRefusal>([
  [21211, 'invalid_number'],
  [21610, 'opted_out'],
  [21614, 'not_mobile'],
  [21635, 'not_mobile'], // a landline
])

/**
 * 21611 lasts until the sender's queue drains, which is hours: a few minutes of backoff would
 * only burn attempts. The dispatcher waits max(backoff, retryAfterMs).
 */
export const SENDER_QUEUE_FULL_DELAY_MS = 15 * 60_000

/** What Twilio's answer to a Messages POST means for the message. */
export function outcomeOfTwilioResponse(
  httpStatus: number,
  headers: Record<string, string | string[] | undefined>,
  bodyText: string,
): SendOutcome {
  const body = parseJsonObject(bodyText)
  if (httpStatus >= 200 && httpStatus < 300) {
    if (body?.status === 'failed') return outcomeOfFailedMessage(httpStatus, body)
    const sid = body?.sid
    return typeof sid === 'string' ? { kind: 'ok', providerMessageId: sid, httpStatus } : { kind: 'ok', httpStatus }
  }
  const code = codeOf(body?.code)
  const kind = (code === undefined ? undefined : TWILIO_CODE_KINDS.get(Number(code))) ?? kindOfStatus(httpStatus)
  const detail = typeof body?.message === 'string' ? body.message : bodyText
  return withCodeDetails(headers, code, {
    kind,
    errorCode: code ?? `http_${httpStatus}`,
    errorMessage: describe(httpStatus, code, detail),
    httpStatus,
  })
}

/**
 * A 201 whose message resource already says `failed`: Twilio took the request but will
 * never send it. Its `error_code` decides as it would in an error answer; with no code
 * (or one we do not know) nothing suggests that trying again would help.
 */
function outcomeOfFailedMessage(httpStatus: number, body: Record<string, unknown>): SendOutcome {
  const code = codeOf(body.error_code)
  const detail = typeof body.error_message === 'string' ? body.error_message : ''
  const source = code ? `Twilio error ${code} (HTTP ${httpStatus}, status failed)` : `Twilio answered HTTP ${httpStatus} with status failed`
  return withCodeDetails({}, code, {
    kind: (code === undefined ? undefined : TWILIO_CODE_KINDS.get(Number(code))) ?? 'permanent',
    errorCode: code ?? 'status_failed',
    errorMessage: describeAnswer(source, detail),
    httpStatus,
  })
}

/** Adds what a code implies beyond its kind: a long wait, a suppression, a Retry-After. */
function withCodeDetails(
  headers: Record<string, string | string[] | undefined>,
  code: string | undefined,
  failure: Extract<SendOutcome, { errorCode: string }>,
): SendOutcome {
  const { kind } = failure
  if (code === '21611') return { ...failure, retryAfterMs: SENDER_QUEUE_FULL_DELAY_MS }
  const suppress = kind === 'permanent' && code !== undefined ? TWILIO_SUPPRESSING_CODES.get(Number(code)) : undefined
  if (suppress) return { ...failure, suppress }
  const retryAfterMs = kind === 'rate_limited' ? parseRetryAfter(headers['retry-after']) : undefined
  return retryAfterMs === undefined ? failure : { ...failure, retryAfterMs }
}

function codeOf(value: unknown): string | undefined {
  return typeof value === 'number' || typeof value === 'string' ? String(value) : undefined
}

function kindOfStatus(status: number): FailureKind {
  if (status === 429) return 'rate_limited'
  if (status === 503) return 'retryable'
  if (status === 401) return 'account'
  if (status >= 400 && status < 500) return 'permanent'
  return 'ambiguous'
}

function describe(status: number, code: string | undefined, detail: string): string {
  return describeAnswer(code ? `Twilio error ${code} (HTTP ${status})` : `Twilio answered HTTP ${status}`, detail)
}
