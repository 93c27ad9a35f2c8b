import { outcomeOfRequestError, parseRetryAfter } from './http-failure.ts'
import { describeAnswer, parseJsonObject } from './provider-answer.ts'
import { providerHttp } from './provider-http.ts'
import type { OutgoingSms, SendOutcome, SmsProvider } from './provider.ts'

export interface WebhookOptions {
  /** Most messages per POST; above 1 the batch contract is used (`SMS_WEBHOOK_BATCH_SIZE`). */
  batchLimit?: number
}

/**
 * POSTs each message as JSON `{id, to, text, type}` to `url`, with the message id as the
 * `Idempotency-Key` header so that the receiver can drop the duplicates that at-least-once
 * delivery allows.
 *
 * With `batchLimit` above 1, several due messages go in one POST `{messages: [...]}` and
 * the receiver answers `200 {results: [{id, status, error?}]}`, where `status` is the HTTP
 * status a single call for that message would have got: one call per message costs the
 * dispatcher more CPU than the provider's answer takes.
 */
export function createWebhookProvider(url: string, { batchLimit = 1 }: WebhookOptions = {}): SmsProvider {
  const http = providerHttp()
  const provider: SmsProvider = {
    name: 'webhook',
    send: (sms: OutgoingSms, signal: AbortSignal): Promise<SendOutcome> =>
      http.send(
        url,
        { headers: { 'content-type': 'application/json', 'idempotency-key': sms.id }, body: JSON.stringify(wireMessage(sms)) },
        signal,
        (answer) => outcomeOfStatus(answer.status, answer.headers['retry-after'], answer.body),
      ),
    close: http.close,
  }
  if (batchLimit <= 1) return provider
  return {
    ...provider,
    batchLimit,
    async sendMany(batch: OutgoingSms[], signal: AbortSignal): Promise<SendOutcome[]> {
      try {
        const answer = await http.call(
          url,
          { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: batch.map(wireMessage) }) },
          signal,
        )
        if (answer.status !== 200) {
          // The whole request failed: a single call's rules, for every message in it.
          const outcome = outcomeOfStatus(answer.status, answer.headers['retry-after'], answer.body)
          return batch.map(() => outcome)
        }
        return outcomesOfBatchAnswer(batch, answer.body, answer.headers['retry-after'])
      } catch (error) {
        const outcome = outcomeOfRequestError(error, signal)
        return batch.map(() => outcome)
      }
    },
  }
}

const wireMessage = (sms: OutgoingSms) => ({ id: sms.id, to: sms.to, text: sms.text, type: sms.type })

/** The webhook's answer as an outcome: the contract every receiver implements. */
export function outcomeOfStatus(
  status: number,
  retryAfter: string | string[] | undefined,
  body: string,
): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'ok', httpStatus: status }
  const failure = { errorCode: `http_${status}`, errorMessage: describeAnswer(`webhook answered ${status}`, body), httpStatus: status }
  if (status === 429) return { kind: 'rate_limited', ...failure, retryAfterMs: parseRetryAfter(retryAfter) }
  // 408 and 503 say the request was not processed; other 5xx may come after it was.
  if (status === 408 || status === 503) return { kind: 'retryable', ...failure }
  if (status >= 500) return { kind: 'ambiguous', ...failure }
  return { kind: 'permanent', ...failure }
}

const UNMENTIONED: SendOutcome = {
  kind: 'ambiguous',
  errorCode: 'batch_unmentioned',
  errorMessage: 'the webhook accepted the batch but gave no result for this message; it may have been sent',
}

/**
 * Each message's verdict in a 200 batch answer, matched by id, never by position. A
 * message the answer does not mention (or an answer that is not the contract's JSON) may
 * have been sent, so it is ambiguous: retried, and labelled so a duplicate is explained.
 */
function outcomesOfBatchAnswer(batch: OutgoingSms[], body: string, retryAfter: string | string[] | undefined): SendOutcome[] {
  const results = parseJsonObject(body)?.results
  const statusById = new Map<string, { status: number; error: string }>()
  if (Array.isArray(results)) {
    for (const result of results) {
      if (typeof result !== 'object' || result === null) continue
      const { id, status, error } = result as Record<string, unknown>
      if (typeof id !== 'string' || !Number.isInteger(status) || (status as number) < 100 || (status as number) > 599) continue
      statusById.set(id, { status: status as number, error: typeof error === 'string' ? error : '' })
    }
  }
  return batch.map((sms) => {
    const verdict = statusById.get(sms.id)
    // The request's Retry-After is the only one the contract has; it holds for each 429.
    return verdict ? outcomeOfStatus(verdict.status, retryAfter, verdict.error) : UNMENTIONED
  })
}
