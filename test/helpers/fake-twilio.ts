import { randomBytes } from 'node:crypto'
import twilio from 'twilio'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { answer, type FakeReply } from './fake-webhook.ts'

/** One message Twilio accepted for sending (its form fields). */
export interface TwilioReceipt {
  /** The SID its 201 names (SM + 32 hex digits). */
  sid: string
  to: string
  from: string | undefined
  messagingServiceSid: string | undefined
  body: string
  /** Where Twilio would POST each status change, when the sender asked. */
  statusCallback: string | undefined
  at: number
}

/** A status change, as Twilio's callback names it. */
export type TwilioMessageStatus = 'queued' | 'sending' | 'sent' | 'delivered' | 'undelivered' | 'failed' | 'accepted'

/**
 * Twilio's Messages API on 127.0.0.1: a real HTTP server that checks the path, the Basic
 * credentials and the form as Twilio does, records each valid request in its ledger, then
 * answers as `reply` says (by default 201 with a Twilio-shaped message).
 */
export interface FakeTwilio {
  baseUrl: string
  ledger: TwilioReceipt[]
  /** The requests it refused before the ledger, as `<code> <message>`. */
  rejections: string[]
  /** Decides each answer; `n` counts requests with this To and Body, from 1. */
  reply: (receipt: TwilioReceipt, n: number) => FakeReply
  /** The 201 Twilio gives when it queues the message. */
  accept: (receipt: TwilioReceipt) => FakeReply
  /**
   * POSTs a status callback for `receipt` as Twilio does: a form signed with the auth token
   * over its StatusCallback URL, by the official `twilio` package's own signing function.
   * `via` is the URL the request really goes to, where a proxy in front of the service
   * would forward it; `signature` replaces the real one (null: none). Answers the HTTP status.
   */
  sendStatus(
    receipt: TwilioReceipt,
    status: TwilioMessageStatus,
    options?: { errorCode?: string; via?: string; signature?: string | null },
  ): Promise<number>
  close(): Promise<void>
}

/** An error answer in Twilio's shape, e.g. `twilioError(400, 21211, "Invalid 'To' Phone Number")`. */
export function twilioError(status: number, code: number, message: string, headers?: Record<string, string>): FakeReply {
  const more_info = `https://www.twilio.com/docs/errors/${code}`
  return { status, headers, body: JSON.stringify({ code, message, more_info, status }) }
}

/** Why the fake refused a request before its ledger: HTTP status, Twilio code, message. */
type Refusal = [status: number, code: number, message: string]

export async function startFakeTwilio(
  t: { teardown(fn: () => unknown): void },
  { accountSid, authToken }: { accountSid: string; authToken: string },
): Promise<FakeTwilio> {
  const messagesPath = `/2010-04-01/Accounts/${accountSid}/Messages.json`
  const expectedAuthorization = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`
  const hanging = new Set<ServerResponse>()
  const fake: FakeTwilio = {
    baseUrl: '',
    ledger: [],
    rejections: [],
    reply: (receipt) => fake.accept(receipt),
    accept: (receipt) => ({ status: 201, body: JSON.stringify(queuedMessage(accountSid, receipt)) }),
    async sendStatus(receipt, status, { errorCode, via, signature } = {}) {
      if (!receipt.statusCallback) throw new Error('this message asked for no status callbacks')
      // The fields of a real SMS status callback.
      const params: Record<string, string> = {
        AccountSid: accountSid,
        ApiVersion: '2010-04-01',
        From: receipt.from ?? '+15005550006',
        MessageSid: receipt.sid,
        MessageStatus: status,
        SmsSid: receipt.sid,
        SmsStatus: status,
        To: receipt.to,
        ...(errorCode ? { ErrorCode: errorCode } : {}),
      }
      const signed = twilio.getExpectedTwilioSignature(authToken, receipt.statusCallback, params)
      const url = via ?? receipt.statusCallback
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
      if (signature !== null) headers['x-twilio-signature'] = signature ?? signed
      const response = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params).toString() })
      await response.arrayBuffer()
      return response.status
    },
    close: () => new Promise<void>((done) => {
      for (const response of hanging) response.destroy()
      server.closeAllConnections()
      server.close(() => done())
    }),
  }

  function refusal(request: IncomingMessage, raw: string): Refusal | undefined {
    if (request.url !== messagesPath) return [404, 20404, `The requested resource ${request.url} was not found`]
    if (request.method !== 'POST') return [405, 20004, 'Method not allowed']
    if (request.headers.authorization !== expectedAuthorization) return [401, 20003, 'Authenticate']
    // Twilio reads parameters only from a form body; any other body looks like no parameters at all.
    const form = isForm(request) ? new URLSearchParams(raw) : new URLSearchParams()
    if (!form.get('To')) return [400, 21604, "A 'To' phone number is required."]
    if (!form.get('Body')) return [400, 21602, 'Message body is required.']
    // Real Twilio tolerates both; the adapter must choose one, so the fake is stricter.
    if (form.has('From') === form.has('MessagingServiceSid')) {
      return [400, 21603, "Exactly one of 'From' or 'MessagingServiceSid' is required."]
    }
    return undefined
  }

  function record(form: URLSearchParams): FakeReply {
    const receipt: TwilioReceipt = {
      sid: `SM${randomBytes(16).toString('hex')}`,
      to: form.get('To')!,
      from: form.get('From') ?? undefined,
      messagingServiceSid: form.get('MessagingServiceSid') ?? undefined,
      body: form.get('Body')!,
      statusCallback: form.get('StatusCallback') ?? undefined,
      at: Date.now(),
    }
    fake.ledger.push(receipt)
    const n = fake.ledger.filter((r) => r.to === receipt.to && r.body === receipt.body).length
    return fake.reply(receipt, n)
  }

  const server: Server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    let raw = ''
    for await (const chunk of request) raw += chunk
    const refused = refusal(request, raw)
    if (refused) fake.rejections.push(`${refused[1]} ${refused[2]}`)
    const reply = refused ? twilioError(...refused) : record(new URLSearchParams(raw))
    await answer(reply, request, response, hanging)
  })

  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(() => fake.close())
  return fake
}

function isForm(request: IncomingMessage): boolean {
  return (request.headers['content-type'] ?? '').split(';')[0].trim() === 'application/x-www-form-urlencoded'
}

/** The body of Twilio's 201: a message resource just queued. */
function queuedMessage(accountSid: string, receipt: TwilioReceipt) {
  const { sid } = receipt
  const now = new Date().toUTCString().replace('GMT', '+0000')
  return {
    account_sid: accountSid,
    api_version: '2010-04-01',
    body: receipt.body,
    date_created: now,
    date_sent: null,
    date_updated: now,
    direction: 'outbound-api',
    error_code: null,
    error_message: null,
    // A Messaging Service picks the sender later, so Twilio answers without one.
    from: receipt.from ?? null,
    messaging_service_sid: receipt.messagingServiceSid ?? null,
    num_media: '0',
    num_segments: '1',
    price: null,
    price_unit: 'USD',
    sid,
    status: receipt.messagingServiceSid ? 'accepted' : 'queued',
    subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
    to: receipt.to,
    uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
  }
}
