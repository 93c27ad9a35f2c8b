import fc from 'fast-check'
import t from 'tap'
import { backoffDelayMs, type BackoffPolicy } from '../../src/outbox/dispatch/backoff.ts'

const seed: BackoffPolicy = { baseDelayMs: 1_000, maxDelayMs: 30_000, jitter: 'none' }

t.test("reproduces the seed's schedule with jitter off", async (t) => {
  const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelayMs(n, seed))
  t.same(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000])
})

t.test('stays finite far past the cap', async (t) => {
  t.equal(backoffDelayMs(5_000, seed), 30_000)
})

t.test('full and equal jitter span [0, d] and [d/2, d]', async (t) => {
  const full = { ...seed, jitter: 'full' } as const
  const equal = { ...seed, jitter: 'equal' } as const
  t.equal(backoffDelayMs(3, full, () => 0), 0)
  t.equal(backoffDelayMs(3, full, () => 0.999999), 4_000)
  t.equal(backoffDelayMs(3, equal, () => 0), 2_000)
  t.equal(backoffDelayMs(3, equal, () => 0.999999), 4_000)
})

const policies = fc.record({
  baseDelayMs: fc.integer({ min: 1, max: 60_000 }),
  maxDelayMs: fc.integer({ min: 1, max: 3_600_000 }),
  jitter: fc.constantFrom('none', 'full', 'equal'),
})
  .filter((p) => p.maxDelayMs >= p.baseDelayMs)
  .map((p) => p as BackoffPolicy)

t.test('property: within [0, cap], an integer, never NaN', async () => {
  fc.assert(
    fc.property(policies, fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (policy, n, r) => {
      const delay = backoffDelayMs(n, policy, () => r)
      return Number.isInteger(delay) && delay >= 0 && delay <= policy.maxDelayMs
    }),
    { numRuns: 100_000 },
  )
})

t.test('property: without jitter, doubles until the cap, then stays there', async () => {
  fc.assert(
    fc.property(policies, fc.integer({ min: 1, max: 200 }), (policy, n) => {
      const unjittered = { ...policy, jitter: 'none' } as const
      const here = backoffDelayMs(n, unjittered)
      const next = backoffDelayMs(n + 1, unjittered)
      return next === Math.min(here * 2, policy.maxDelayMs) && next >= here
    }),
    { numRuns: 10_000 },
  )
})
