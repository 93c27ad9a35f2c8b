/** Reading a provider's HTTP answer into an outcome's error message. */
import { redactNumber, redactPhoneNumbers } from '../sms/phone-number.ts'
import type { OutgoingSms, SendOutcome } from './provider.ts'

/** The most of an error message that is stored, logged and alerted. */
const MAX_ERROR_MESSAGE = 200

/**
 * `source`, then the provider's own words. Those may quote the number we sent: numbers
 * are redacted here already, and `withoutMessage` removes the rest and cuts the result
 * to size before anything stores or logs it.
 */
export function describeAnswer(source: string, detail: string): string {
  const excerpt = redactPhoneNumbers(detail).trim()
  return excerpt ? `${source}: ${excerpt}` : source
}

/**
 * `outcome` as it may be stored, logged and alerted: a provider's answer (or an error
 * about the call) can quote the message it was about, so its text and every written form
 * of its number are removed, then any other number, then it is cut to 200 characters.
 * In that order: a cut first could leave part of a number or of the text unmatched.
 * Last, what PostgreSQL cannot store (see UNSTORABLE) becomes U+FFFD, in the provider's
 * message id too. The dispatcher applies it to every outcome as it comes back from the
 * provider.
 */
export function withoutMessage(outcome: SendOutcome, message: Pick<OutgoingSms, 'to' | 'text'>): SendOutcome {
  if (outcome.kind === 'ok') {
    const providerMessageId = outcome.providerMessageId && storable(outcome.providerMessageId)
    return providerMessageId === outcome.providerMessageId ? outcome : { ...outcome, providerMessageId }
  }
  const scrubbed = redactPhoneNumbers(redactNumber(withoutText(outcome.errorMessage, message.text), message.to))
  // After the cut, which can split a surrogate pair.
  const errorMessage = storable(scrubbed.length > MAX_ERROR_MESSAGE ? `${scrubbed.slice(0, MAX_ERROR_MESSAGE - 1)}…` : scrubbed)
  const errorCode = storable(outcome.errorCode)
  return errorMessage === outcome.errorMessage && errorCode === outcome.errorCode ? outcome : { ...outcome, errorMessage, errorCode }
}

/**
 * NUL and half a surrogate pair: PostgreSQL's text takes neither, and a provider's JSON
 * can spell both (`\u0000`, `\ud800`). One such answer would fail the outcome write of
 * every message grouped with its own.
 */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

const storable = (text: string): string => text.replace(UNSTORABLE, '\ufffd')

// Shorter texts would cut ordinary words out of the answer, and say little on their own.
const MIN_TEXT = 3
// A provider may quote the start of a long text and cut it: quotes of this many
// characters or more are removed too.
const MIN_QUOTED_START = 16

/**
 * `answer` without `text`, as the provider may have written it: as is, JSON-escaped or
 * URL-encoded; and each of those with its numbers redacted, as describeAnswer left them.
 */
function withoutText(answer: string, text: string): string {
  if (text.trim().length < MIN_TEXT) return answer
  const written = [text, JSON.stringify(text).slice(1, -1), encodeURIComponent(text), new URLSearchParams({ t: text }).toString().slice(2)]
  const forms = new Set([...written, ...written.map(redactPhoneNumbers)])
  let result = answer
  for (const form of forms) result = withoutQuote(result, form)
  return result
}

/**
 * `answer` without the longest start of `quoted` that it contains (all of it, if quoted
 * whole). Containing a start of some length means containing every shorter one, so the
 * longest is found by bisection.
 */
function withoutQuote(answer: string, quoted: string): string {
  let shortest = Math.min(MIN_QUOTED_START, quoted.length)
  if (!answer.includes(quoted.slice(0, shortest))) return answer
  let longest = quoted.length
  while (shortest < longest) {
    const middle = Math.ceil((shortest + longest) / 2)
    if (answer.includes(quoted.slice(0, middle))) shortest = middle
    else longest = middle - 1
  }
  return answer.replaceAll(quoted.slice(0, shortest), '<text>')
}

/** The answer's JSON object, or undefined for anything else (a proxy's HTML page, nothing). */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
