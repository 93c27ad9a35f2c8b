/**
 * Twilio's status callbacks: the form it POSTs to a message's StatusCallback URL each time
 * the message's status changes, signed with the account's auth token.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { DeliveryReceipt } from './provider.ts'

/** The route that takes Twilio's status callbacks, below PUBLIC_URL. */
export const TWILIO_RECEIPT_PATH = '/v1/receipts/twilio'

/** Where Twilio is asked to send status callbacks: only with PUBLIC_URL, an address it can reach. */
export function twilioReceiptUrl(publicUrl: string | undefined): string | undefined {
  return publicUrl ? `${publicUrl.replace(/\/+$/, '')}${TWILIO_RECEIPT_PATH}` : undefined
}

/** A parsed form body: @fastify/formbody gives an array for a repeated key. */
export type FormParams = Record<string, string | string[] | undefined>

/**
 * Whether `signature` (the X-Twilio-Signature header) is Twilio's for this request, as
 * Twilio documents it: base64 HMAC-SHA1, keyed with the auth token, of the full URL it
 * requested followed by each form parameter's name and value, sorted by name. `url` is the
 * URL we gave Twilio (PUBLIC_URL + path): behind a proxy the request's own Host differs.
 * Like Twilio's own validator, the URL is also tried with its default port added or
 * removed, since either may be the one Twilio signed.
 */
export function isTwilioSignatureValid(authToken: string, signature: string | undefined, url: string, params: FormParams): boolean {
  if (!signature) return false
  const given = Buffer.from(signature)
  return withAndWithoutDefaultPort(url).some((candidate) => {
    const expected = Buffer.from(twilioSignature(authToken, candidate, params))
    return expected.length === given.length && timingSafeEqual(expected, given)
  })
}

/** The signature Twilio sends for a request to `url` with these form parameters. */
export function twilioSignature(authToken: string, url: string, params: FormParams): string {
  let data = url
  for (const name of Object.keys(params).sort()) {
    const value = params[name]
    if (value === undefined) continue
    // A repeated parameter is signed once per distinct value, in sorted order.
    for (const each of Array.isArray(value) ? [...new Set(value)].sort() : [value]) data += name + each
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64')
}

/** The URL without its port, and with its port (the scheme's default if it names none). */
function withAndWithoutDefaultPort(url: string): string[] {
  const match = /^(https?:\/\/)([^/?#]*)(.*)$/i.exec(url)
  if (!match) return [url]
  const [, scheme, authority, rest] = match
  const userInfo = authority.slice(0, authority.lastIndexOf('@') + 1)
  const hostAndPort = authority.slice(userInfo.length)
  const portStart = hostAndPort.indexOf(':', hostAndPort.lastIndexOf(']') + 1)
  const host = portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart)
  const port = portStart === -1 ? (scheme.toLowerCase() === 'https://' ? ':443' : ':80') : hostAndPort.slice(portStart)
  return [scheme + userInfo + host + rest, scheme + userInfo + host + port + rest]
}

/**
 * What a status callback says about its message: a final receipt, `not_final` for a status
 * on the way (queued, sending, sent, accepted, scheduled...), or undefined when the form
 * names no message or no status. Per Twilio's message status values: `delivered` is the
 * carrier's confirmation; `undelivered` (the carrier refused it) and `failed` (Twilio could
 * not send it) are final failures with an ErrorCode.
 */
export function receiptOfTwilioCallback(params: FormParams): DeliveryReceipt | 'not_final' | undefined {
  const sid = single(params.MessageSid) ?? single(params.SmsSid)
  const status = single(params.MessageStatus) ?? single(params.SmsStatus)
  if (!sid || !status) return undefined
  if (status === 'delivered') return { providerMessageId: sid, status: 'delivered', errorCode: null }
  if (status === 'undelivered' || status === 'failed') {
    return { providerMessageId: sid, status: 'undelivered', errorCode: single(params.ErrorCode) ?? status }
  }
  return 'not_final'
}

function single(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value
  return first === '' ? undefined : first
}
