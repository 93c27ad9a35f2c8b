/**
 * SOLAPI (CoolSMS) Messages API v4, one `POST /messages/v4/send` per SMS.
 *
 * Single send rather than the group flow (create a group, store its id, add the message,
 * send): the group flow would let a retry learn "already sent" (409) instead of sending
 * twice, but it costs three calls per SMS and is unverified against the live API. The price
 * of single send: a timeout, reset or 5xx after the request left is labelled ambiguous and
 * retried, which may deliver a duplicate SMS. The README says the same.
 */
import { Agent, request } from 'undici'
import { parsePhoneNumber, type PhoneNumber } from 'libphonenumber-js/max'
import { outcomeOfRequestError } from './http-failure.ts'
import type { OutgoingSms, SendOutcome, SmsProvider } from './provider.ts'
import { outcomeOfSolapiResponse } from './solapi-outcomes.ts'
import { solapiAuthorization } from './solapi-signature.ts'

export interface SolapiSettings {
  apiKey: string
  apiSecret: string
  /** `https://api.solapi.com`, or a fake's address in tests. */
  baseUrl: string
  /** The sender number registered with SOLAPI: domestic (`02-1234-5678`) or E.164 (`+8221234567`). */
  from: string
}

/** The recipient as SOLAPI wants it: Korean numbers in domestic form, others with `country`. */
interface SolapiRecipient {
  to: string
  country?: string
}

export function createSolapiProvider({ apiKey, apiSecret, baseUrl, from }: SolapiSettings): SmsProvider {
  const url = `${baseUrl.replace(/\/+$/, '')}/messages/v4/send`
  const sender = solapiSender(from)
  // Keep-alive: one TCP connection serves many messages instead of a TLS handshake each.
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 })
  return {
    name: 'solapi',
    async send(sms: OutgoingSms, signal: AbortSignal): Promise<SendOutcome> {
      const recipient = solapiRecipient(sms.to)
      if (!recipient) {
        // Enqueue validates numbers, so this is a bug; the number itself stays out of the message.
        return { kind: 'permanent', errorCode: 'invalid_recipient', errorMessage: 'the recipient is not an E.164 number' }
      }
      try {
        const response = await request(url, {
          method: 'POST',
          dispatcher: agent,
          signal,
          // Signed per attempt: SOLAPI refuses a signature it has seen.
          headers: { authorization: solapiAuthorization(apiKey, apiSecret), 'content-type': 'application/json' },
          body: JSON.stringify({ message: { ...recipient, from: sender, text: sms.text, type: sms.type } }),
        })
        const body = await response.body.text()
        return outcomeOfSolapiResponse(response.statusCode, response.headers, body)
      } catch (error) {
        return outcomeOfRequestError(error, signal)
      }
    },
    close: () => agent.close(),
  }
}

function solapiRecipient(e164: string): SolapiRecipient | undefined {
  let phone: PhoneNumber
  try {
    phone = parsePhoneNumber(e164)
  } catch {
    return undefined
  }
  if (phone.countryCallingCode === '82') return { to: domesticForm(phone) }
  return { to: phone.nationalNumber, country: phone.countryCallingCode }
}

/** SOLAPI matches the sender against its registered numbers, which are domestic digits. */
function solapiSender(configured: string): string {
  const compact = configured.replace(/[\s-]/g, '')
  return compact.startsWith('+82') ? domesticForm(parsePhoneNumber(compact)) : compact
}

/** `+821012345678` → `01012345678`; `+8215881234` → `15881234` (no trunk 0 on 1588 numbers). */
function domesticForm(phone: PhoneNumber): string {
  return phone.formatNational().replace(/\D/g, '')
}
