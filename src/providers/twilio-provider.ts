import { Agent, request } from 'undici'
import { outcomeOfRequestError } from './http-failure.ts'
import type { OutgoingSms, SendOutcome, SmsProvider } from './provider.ts'
import { outcomeOfTwilioResponse } from './twilio-outcomes.ts'

export interface TwilioSettings {
  accountSid: string
  authToken: string
  /** `https://api.twilio.com`, or a fake's address in tests. */
  baseUrl: string
  /** An E.164 number, or a Messaging Service SID (`MG...`) that picks the number itself. */
  from: string
  /** Where Twilio POSTs each status change (PUBLIC_URL + /v1/receipts/twilio); unset = no receipts. */
  statusCallback?: string
}

/** Sends each SMS with one Twilio Programmable Messaging `POST .../Messages.json`. */
export function createTwilioProvider({ accountSid, authToken, baseUrl, from, statusCallback }: TwilioSettings): SmsProvider {
  const url = `${baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`
  const authorization = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`
  // A Messaging Service SID (MG...) lets Twilio pick the sending number from its pool.
  const senderField = from.startsWith('MG') ? 'MessagingServiceSid' : 'From'
  const callbackField: Record<string, string> = statusCallback ? { StatusCallback: statusCallback } : {}
  // Keep-alive: one TCP connection serves many messages instead of a TLS handshake each.
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 })
  return {
    name: 'twilio',
    async send(sms: OutgoingSms, signal: AbortSignal): Promise<SendOutcome> {
      try {
        const response = await request(url, {
          method: 'POST',
          dispatcher: agent,
          signal,
          headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ To: sms.to, Body: sms.text, [senderField]: from, ...callbackField }).toString(),
        })
        const body = await response.body.text()
        return outcomeOfTwilioResponse(response.statusCode, response.headers, body)
      } catch (error) {
        // Twilio has no idempotency key for Messages: a timeout or reset after the request was
        // written may still have sent the SMS, so those stay ambiguous and a retry may duplicate it.
        return outcomeOfRequestError(error, signal)
      }
    },
    close: () => agent.close(),
  }
}
