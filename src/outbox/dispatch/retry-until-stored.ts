import pRetry from 'p-retry'

/**
 * Retries a database write that records something which already happened (a provider
 * accepted an SMS) until the database takes it or `withinMs` runs out. Giving up early
 * would leave the row to be reclaimed and the SMS sent again; past the row's lease that
 * happens anyway, so the lease is the natural bound.
 */
export function retryUntilStored<T>(
  write: () => Promise<T>,
  { withinMs, onFailure }: { withinMs: number; onFailure?: (error: unknown) => void },
): Promise<T> {
  return pRetry(write, {
    retries: Number.POSITIVE_INFINITY,
    maxRetryTime: withinMs,
    factor: 2,
    minTimeout: 50,
    maxTimeout: 2_000,
    onFailedAttempt: ({ error }) => onFailure?.(error),
  })
}
