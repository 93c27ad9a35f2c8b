import { providerHttp } from './provider-http.ts'
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
  const http = providerHttp()
  return {
    name: 'twilio',
    pushesReceipts: statusCallback !== undefined,
    // Twilio has no idempotency key for Messages: a timeout or reset after the request was
    // written may still have sent the SMS, so those stay ambiguous and a retry may duplicate it.
    send: (sms: OutgoingSms, signal: AbortSignal): Promise<SendOutcome> =>
      http.send(
        url,
        {
          headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ To: sms.to, Body: sms.text, [senderField]: from, ...callbackField }).toString(),
        },
        signal,
        (answer) => outcomeOfTwilioResponse(answer.status, answer.headers, answer.body),
      ),
    close: http.close,
  }
}
