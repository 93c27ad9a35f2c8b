import t from 'tap'
import { withRetry } from '../../src/library/index.ts'
import { retryUntilStored } from '../../src/outbox/dispatch/retry-until-stored.ts'

// The seed's two tests, ported; small delays keep them quick.
const fast = { baseDelayMs: 5, maxDelayMs: 20 }

t.test('a function that fails twice then succeeds is called 3 times and its value returned', async (t) => {
  let calls = 0
  const result = await withRetry(
    async () => {
      calls += 1
      if (calls < 3) throw new Error('Temporary failure')
      return 'success'
    },
    { maxRetries: 3, ...fast },
  )
  t.equal(result, 'success')
  t.equal(calls, 3)
})

t.test('an always-failing function rethrows its last error after maxRetries + 1 calls', async (t) => {
  let calls = 0
  await t.rejects(
    withRetry(
      async () => {
        calls += 1
        throw new Error('Permanent failure')
      },
      { maxRetries: 2, ...fast },
    ),
    { message: 'Permanent failure' },
  )
  t.equal(calls, 3)
})

t.test('waits min(base * 2^(n-1), max) between calls', async (t) => {
  const startedAt: number[] = []
  await t.rejects(
    withRetry(
      async () => {
        startedAt.push(performance.now())
        throw new Error('down')
      },
      { maxRetries: 4, baseDelayMs: 20, maxDelayMs: 50 },
    ),
  )
  const gaps = startedAt.slice(1).map((time, index) => time - startedAt[index])
  // Timers never fire early; they may fire late on a busy machine.
  for (const [index, expected] of [20, 40, 50, 50].entries()) {
    t.ok(gaps[index] >= expected - 1, `gap ${index + 1} is ${gaps[index].toFixed(1)} ms, at least ${expected}`)
  }
})

t.test('retryUntilStored keeps writing until the database takes it', async (t) => {
  let calls = 0
  const failures: unknown[] = []
  const result = await retryUntilStored(
    async () => {
      calls += 1
      if (calls < 4) throw new Error('connection lost')
      return 'written'
    },
    { withinMs: 5_000, onFailure: (error) => failures.push(error) },
  )
  t.equal(result, 'written')
  t.equal(calls, 4)
  t.equal(failures.length, 3)
})

t.test('retryUntilStored gives up once its time is spent', async (t) => {
  let calls = 0
  await t.rejects(
    retryUntilStored(
      async () => {
        calls += 1
        throw new Error('still down')
      },
      { withinMs: 200 },
    ),
    { message: 'still down' },
  )
  t.ok(calls >= 2 && calls < 20, `${calls} calls in 200 ms`)
})
