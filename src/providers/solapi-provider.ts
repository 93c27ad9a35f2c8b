/**
 * SOLAPI (CoolSMS) Messages API v4: `POST /messages/v4/send` for one SMS, and
 * `POST /messages/v4/send-many/detail` for several, with a verdict per message.
 *
 * Single and many sends rather than the group flow (create a group, store its id, add the
 * message, send): the group flow would let a retry learn "already sent" (409) instead of
 * sending twice, but it costs three calls per SMS and is unverified against the live API.
 * The price: a timeout, reset or 5xx after the request left is labelled ambiguous and
 * retried, which may deliver a duplicate SMS, for every message of a send-many call at
 * once. The README says the same.
 */
import type { Logger } from 'pino'
import { outcomeOfRequestError } from './http-failure.ts'
import { providerHttp } from './provider-http.ts'
import type { DeliveryReceipt, OutgoingSms, SendOutcome, SmsProvider } from './provider.ts'
import {
  OUTBOX_ID_FIELD,
  outcomeOfSolapiResponse,
  outcomesOfSolapiBatchResponse,
  type SolapiBatchMatching,
} from './solapi-outcomes.ts'
import { solapiRecipient, solapiSender, type SolapiRecipient } from './solapi-numbers.ts'
import { receiptsOfSolapiList, SOLAPI_LIST_BATCH, solapiListPath } from './solapi-receipts.ts'
import { solapiAuthorization } from './solapi-signature.ts'

export interface SolapiSettings {
  apiKey: string
  apiSecret: string
  /** `https://api.solapi.com`, or a fake's address in tests. */
  baseUrl: string
  /** The sender number registered with SOLAPI: domestic (`02-1234-5678`) or E.164 (`+8221234567`). */
  from: string
  /** Most messages per send-many call (SOLAPI takes up to 10,000); 1 sends each on its own. */
  batchLimit?: number
  /** Where to say how send-many answers are matched to messages (once per way). */
  log?: Logger
}

// Enqueue validates numbers, so this is a bug; the number itself stays out of the message.
const INVALID_RECIPIENT: SendOutcome = {
  kind: 'permanent',
  errorCode: 'invalid_recipient',
  errorMessage: 'the recipient is not an E.164 number',
}

export function createSolapiProvider({ apiKey, apiSecret, baseUrl, from, batchLimit = 1, log }: SolapiSettings): SmsProvider {
  const base = baseUrl.replace(/\/+$/, '')
  // The live answer's shape is unverified (customFields is optional in the SDK's schema):
  // an operator learns from the log which matching the API's answers allow.
  const reportedMatchings = new Set<SolapiBatchMatching>()
  const reportMatching = (matchedBy: SolapiBatchMatching | undefined) => {
    if (!matchedBy || reportedMatchings.has(matchedBy)) return
    reportedMatchings.add(matchedBy)
    log?.warn({ matchedBy }, `SOLAPI send-many answer matched by ${matchedBy} (logged once per process)`)
  }
  const sender = solapiSender(from)
  const http = providerHttp()
  // Signed per call: SOLAPI refuses a signature it has seen.
  const signedJson = (body: unknown) => ({
    headers: { authorization: solapiAuthorization(apiKey, apiSecret), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

  // The outbox id rides along in customFields: SOLAPI's message log then names it, and a
  // send-many answer is matched back to the messages by it.
  const solapiMessage = (sms: OutgoingSms, recipient: SolapiRecipient) => ({
    ...recipient,
    from: sender,
    text: sms.text,
    type: sms.type,
    customFields: { [OUTBOX_ID_FIELD]: sms.id },
  })

  async function send(sms: OutgoingSms, signal: AbortSignal): Promise<SendOutcome> {
    const recipient = solapiRecipient(sms.to)
    if (!recipient) return INVALID_RECIPIENT
    return http.send(`${base}/messages/v4/send`, signedJson({ message: solapiMessage(sms, recipient) }), signal, (answer) =>
      outcomeOfSolapiResponse(answer.status, answer.headers, answer.body),
    )
  }

  async function sendMany(batch: OutgoingSms[], signal: AbortSignal): Promise<SendOutcome[]> {
    const outcomes = new Array<SendOutcome>(batch.length).fill(INVALID_RECIPIENT)
    const sending = batch.flatMap((sms, index) => {
      const recipient = solapiRecipient(sms.to)
      return recipient ? [{ index, sms, message: solapiMessage(sms, recipient) }] : []
    })
    if (sending.length === 0) return outcomes
    let answered: SendOutcome[]
    try {
      const answer = await http.call(
        `${base}/messages/v4/send-many/detail`,
        // Two messages of one batch may go to one number (a code, then its result): they
        // are two messages, and allowDuplicates keeps SOLAPI from taking them for one.
        signedJson({ messages: sending.map((s) => s.message), allowDuplicates: true, showMessageList: true }),
        signal,
      )
      const sent = sending.map((s) => ({ id: s.sms.id, to: s.message.to }))
      const judged = outcomesOfSolapiBatchResponse(answer.status, answer.headers, answer.body, sent)
      reportMatching(judged.matchedBy)
      answered = judged.outcomes
      // A refused request (a 400) does not say which message it objects to, and refusal
      // means nothing was taken: each goes again on its own, so only the bad one dies.
      if (answer.status >= 300 && answered[0].kind === 'permanent' && sending.length > 1) {
        answered = await Promise.all(sending.map((s) => send(s.sms, signal)))
      }
    } catch (error) {
      const outcome = outcomeOfRequestError(error, signal)
      answered = sending.map(() => outcome)
    }
    sending.forEach(({ index }, i) => (outcomes[index] = answered[i]))
    return outcomes
  }

  // Delivery results are asked for: SOLAPI's webhooks carry no signature to check.
  async function checkDeliveries(messageIds: string[], signal: AbortSignal): Promise<DeliveryReceipt[]> {
    const answer = await http.call(
      `${base}${solapiListPath(messageIds)}`,
      { method: 'GET', headers: { authorization: solapiAuthorization(apiKey, apiSecret) } },
      signal,
    )
    if (answer.status !== 200) throw new Error(`SOLAPI answered the message list with HTTP ${answer.status}`)
    return receiptsOfSolapiList(answer.body)
  }

  return {
    name: 'solapi',
    send,
    ...(batchLimit > 1 ? { batchLimit, sendMany } : {}),
    checkDeliveries,
    receiptBatchLimit: SOLAPI_LIST_BATCH,
    close: http.close,
  }
}
