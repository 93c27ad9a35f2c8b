import type { SendOutcome } from '../providers/provider.ts'
import { backoffDelayMs, type BackoffPolicy } from './backoff.ts'
import type { ClaimedMessage } from './claim-due.ts'
import type { AttemptResult } from './record-outcomes.ts'

/**
 * Maps a provider outcome to what happens to the message: the dispatcher's whole policy.
 * - ok: sent.
 * - permanent: dead now; retrying cannot help.
 * - anything else: the next attempt after the backoff (at least the provider's
 *   Retry-After), or dead once `maxRetries` retries are used.
 */
// A Retry-After of days would wait past any expiry; a day also fits the int column.
const MAX_DELAY_MS = 86_400_000

export function settle(
  message: ClaimedMessage,
  outcome: SendOutcome,
  latencyMs: number,
  policy: BackoffPolicy,
): AttemptResult {
  const base = { id: message.id, leaseToken: message.leaseToken, latencyMs: Math.round(latencyMs) }
  if (outcome.kind === 'ok') {
    return {
      ...base,
      status: 'sent',
      delayMs: 0,
      outcome: 'ok',
      errorCode: null,
      errorMessage: null,
      httpStatus: outcome.httpStatus ?? null,
      providerMessageId: outcome.providerMessageId ?? null,
    }
  }
  const failure = {
    ...base,
    outcome: outcome.kind,
    errorCode: outcome.errorCode,
    errorMessage: outcome.errorMessage,
    httpStatus: outcome.httpStatus ?? null,
    providerMessageId: null,
  }
  const retriesLeft = message.maxRetries + 1 - message.attempts
  if (outcome.kind === 'permanent' || retriesLeft <= 0) return { ...failure, status: 'dead', delayMs: 0 }
  const delayMs = Math.min(
    Math.max(backoffDelayMs(message.attempts, policy), outcome.retryAfterMs ?? 0),
    MAX_DELAY_MS,
  )
  return { ...failure, status: 'pending', delayMs }
}
