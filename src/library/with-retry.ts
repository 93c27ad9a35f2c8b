import pRetry from 'p-retry'

export interface WithRetryOptions {
  /** Retries after the first call; 3 means at most 4 calls. */
  maxRetries?: number
  baseDelayMs?: number
  maxDelayMs?: number
}

/**
 * Calls `fn` until it resolves, waiting `min(base * 2^(n-1), max)` after the n-th failure:
 * the seed's in-process retry, for library users who want it without the outbox. Rejects
 * with the last error once `maxRetries` retries have failed. As in p-retry, a TypeError
 * that is not a network error is a bug and is not retried.
 *
 * A process that dies while this sleeps loses the call; work that must survive a restart
 * belongs in the outbox.
 */
export function withRetry<T>(
  fn: (attemptNumber: number) => T | Promise<T>,
  { maxRetries = 3, baseDelayMs = 1_000, maxDelayMs = 30_000 }: WithRetryOptions = {},
): Promise<T> {
  return pRetry(fn, {
    retries: maxRetries,
    factor: 2,
    minTimeout: baseDelayMs,
    maxTimeout: maxDelayMs,
    randomize: false,
  })
}
