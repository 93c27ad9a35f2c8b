import { Agent, request } from 'undici'
import { outcomeOfRequestError, parseRetryAfter } from './http-failure.ts'
import { describeAnswer } from './provider-answer.ts'
import type { OutgoingSms, SendOutcome, SmsProvider } from './provider.ts'

/**
 * POSTs each message as JSON `{id, to, text, type}` to `url`, with the message id as the
 * `Idempotency-Key` header so that the receiver can drop the duplicates that at-least-once
 * delivery allows.
 */
export function createWebhookProvider(url: string): SmsProvider {
  // Keep-alive: one TCP connection serves many messages instead of a handshake each.
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 })
  return {
    name: 'webhook',
    async send(sms: OutgoingSms, signal: AbortSignal): Promise<SendOutcome> {
      try {
        const response = await request(url, {
          method: 'POST',
          dispatcher: agent,
          signal,
          headers: { 'content-type': 'application/json', 'idempotency-key': sms.id },
          body: JSON.stringify({ id: sms.id, to: sms.to, text: sms.text, type: sms.type }),
        })
        const body = await response.body.text()
        return outcomeOfStatus(response.statusCode, response.headers['retry-after'], body)
      } catch (error) {
        return outcomeOfRequestError(error, signal)
      }
    },
    close: () => agent.close(),
  }
}

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
