import type { SendOutcome } from './provider.ts'

// Errors raised before the request could reach the provider: sending again is safe.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
])

/**
 * The outcome of a provider call that threw instead of answering. A refused connection
 * never carried the message; a timeout or a reset may have, so those are ambiguous.
 */
export function outcomeOfRequestError(error: unknown, signal: AbortSignal): SendOutcome {
  if (signal.aborted) {
    return {
      kind: 'ambiguous',
      errorCode: 'timeout',
      errorMessage: 'no answer within PROVIDER_TIMEOUT_MS; the provider may have sent it',
    }
  }
  const code = errorCode(error)
  const message = error instanceof Error ? error.message : String(error)
  if (code && NOT_SENT_CODES.has(code)) {
    return { kind: 'retryable', errorCode: code, errorMessage: message }
  }
  return {
    kind: 'ambiguous',
    errorCode: code ?? 'network_error',
    errorMessage: `${message}; the provider may have sent it`,
  }
}

/**
 * Milliseconds a `Retry-After` header asks for: delta-seconds (fractional allowed, as
 * SOLAPI's `x-retry-after` sends) or an HTTP date. Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const header = Array.isArray(value) ? value[0] : value
  if (!header) return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.ceil(seconds * 1000) : undefined
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

function errorCode(error: unknown): string | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') return code
  }
  return undefined
}
