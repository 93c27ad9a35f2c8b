/** How the delay before a retry is spread; `none` reproduces the seed's schedule exactly. */
export type Jitter = 'none' | 'full' | 'equal'

export interface BackoffPolicy {
  baseDelayMs: number
  maxDelayMs: number
  jitter: Jitter
}

/**
 * Delay before the next attempt after the `failedAttempts`-th failure (1, 2, ...):
 * `min(base * 2^(n-1), max)`, then jittered.
 *
 * With base 1 s and cap 30 s (the defaults) and no jitter:
 *
 * | failed attempts | 1 | 2 | 3 | 4 | 5  | 6  | 7  | 8+ |
 * |-----------------|---|---|---|---|----|----|----|----|
 * | next in (s)     | 1 | 2 | 4 | 8 | 16 | 30 | 30 | 30 |
 *
 * `full` draws from [0, d] and `equal` from [d/2, d] (the AWS backoff article): full
 * spreads a thundering herd best, equal keeps a floor under each wait.
 * `random` returns [0, 1) and is a parameter so that tests can pin it.
 */
export function backoffDelayMs(
  failedAttempts: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Number.isFinite(failedAttempts) ? Math.max(0, Math.floor(failedAttempts) - 1) : 0
  // 2^exponent overflows to Infinity past 1023; min() with the cap keeps it finite.
  const delay = Math.min(policy.baseDelayMs * 2 ** exponent, policy.maxDelayMs)
  switch (policy.jitter) {
    case 'none':
      return delay
    // min(): random() close to 1 can round the sum up past the delay (fast-check found it).
    case 'full':
      return Math.min(delay, Math.floor(random() * (delay + 1)))
    case 'equal':
      return Math.min(delay, Math.floor(delay / 2 + random() * (delay / 2 + 1)))
  }
}
