import fc from 'fast-check'
import { backoffDelayMs, type BackoffPolicy } from '../../../src/outbox/dispatch/backoff.ts'
import type { Scenario } from '../scenario.ts'

const policies = fc
  .record({
    baseDelayMs: fc.integer({ min: 1, max: 60_000 }),
    maxDelayMs: fc.integer({ min: 1, max: 3_600_000 }),
    jitter: fc.constantFrom('none' as const, 'full' as const, 'equal' as const),
  })
  .filter((p) => p.maxDelayMs >= p.baseDelayMs)

// What a corrupted row or a caller's bug could hand the function, besides 1, 2, 3, ...
const failedAttempts = fc.oneof(
  fc.integer({ min: 1, max: 100_000 }),
  fc.integer({ min: -1_000, max: 0 }),
  fc.double({ noNaN: false }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1_024, 1_025, Number.MAX_SAFE_INTEGER),
)

/**
 * 17. Backoff properties, 100k runs each (pure, in-process): every delay an integer in
 * [0, cap], never negative or NaN, whatever the attempt count (NaN, negative, huge); with
 * jitter off, monotone and doubling up to the cap, then flat; with jitter, within its band.
 */
export const backoffProperties: Scenario = {
  id: 17,
  name: 'backoff properties (fast-check)',
  quick: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const numRuns = ctx.quick ? 10_000 : 100_000
    const failures: Record<string, string> = {}
    const check = (name: string, property: fc.IPropertyWithHooks<unknown[]>) => {
      try {
        fc.assert(property, { numRuns })
      } catch (error) {
        failures[name] = String(error).slice(0, 500)
      }
    }
    check('in [0, cap], an integer, never NaN', fc.property(policies, failedAttempts, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (policy, n, r) => {
      const delay = backoffDelayMs(n, policy as BackoffPolicy, () => r)
      return Number.isInteger(delay) && delay >= 0 && delay <= policy.maxDelayMs
    }))
    check('jitter off: doubles up to the cap, then flat', fc.property(policies, fc.integer({ min: 1, max: 5_000 }), (policy, n) => {
      const plain = { ...policy, jitter: 'none' as const }
      const here = backoffDelayMs(n, plain)
      const next = backoffDelayMs(n + 1, plain)
      return next >= here && next === Math.min(here * 2, policy.maxDelayMs) && backoffDelayMs(1, plain) === policy.baseDelayMs
    }))
    check('equal jitter: within [d/2, d]', fc.property(policies, fc.integer({ min: 1, max: 5_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (policy, n, r) => {
      const d = backoffDelayMs(n, { ...policy, jitter: 'none' })
      const delay = backoffDelayMs(n, { ...policy, jitter: 'equal' }, () => r)
      return delay >= Math.floor(d / 2) && delay <= d
    }))
    for (const name of ['in [0, cap], an integer, never NaN', 'jitter off: doubles up to the cap, then flat', 'equal jitter: within [d/2, d]']) ctx.expect(name, !(name in failures), failures[name])
    return { properties: 3, runs_each: numRuns }
  },
}
