// The loop's timing, on a fake clock: the dispatcher's cadence and wake-ups run on it, so
// each test reads the moment a timer was set for instead of measuring wall-clock gaps.
import FakeTimers from '@sinonjs/fake-timers'
import t from 'tap'
import type { LoopClock } from '../../src/outbox/dispatch/dispatcher.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { attemptsOf, enqueue, runningDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

/** A fake clock that stands still until the test moves it, as the dispatcher's LoopClock. */
function fakeLoopClock() {
  const clock = FakeTimers.createClock(0)
  const loopClock: LoopClock = {
    now: () => clock.now,
    setTimeout: (callback, ms) => clock.setTimeout(callback, ms) as unknown as NodeJS.Timeout,
    clearTimeout: (timer) => clock.clearTimeout(timer as unknown as FakeTimers.TimerId),
  }
  return { clock, loopClock }
}

// Found by chaos scenario 11 (5xx storm): retries came up to a poll interval plus a sweep
// and a claim after their backoff, 234 ms late with a 200 ms poll on two busy cores.
t.test('a retry runs when its backoff ends, not at the next poll', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = (_receipt, n) => (n === 1 ? { status: 503 } : { status: 200 })
  const { clock, loopClock } = fakeLoopClock()
  const id = await enqueue(db)
  // A poll far longer than the 40 ms backoff: only a wake-up at the due time is prompt.
  const { watch } = runningDispatcher(t, db, fake.url, { pollIntervalMs: 600_000, clock: loopClock })

  t.equal(await watch.attempt(id), 'pending', 'the 503 scheduled a retry')
  // The database's clock is real: make the row due there, as 40 ms would have.
  await db.sql(`UPDATE sms_outbox.messages SET next_attempt_at = now() WHERE id = $1`, [id])
  t.equal(clock.next(), 40, "the loop's next timer is the retry's due time, 40 ms after the 503, not the poll")
  t.equal(await watch.attempt(id, 2), 'sent')
  t.match(await watch.pass(2), { claimed: 1 }, 'the pass that timer started claimed the retry')
  t.same((await attemptsOf(db, id)).map((a) => a.outcome), ['retryable', 'ok'])
})

// Found by chaos scenario 8 (backends terminated every second, LISTEN dead): pickups of
// 230 ms with a 200 ms poll, because each pass slept a full interval after its sweep.
t.test('polling keeps its cadence: the next pass starts one poll after the last one started, however slow its sweep', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  const { clock, loopClock } = fakeLoopClock()
  // Each of the sweep's two statements (reclaimExpired, expireOverdue) takes 100 ms of the
  // loop's time (a busy database): 200 ms per sweep. The claim takes none.
  const SWEEP_STATEMENT = /locked_until < now\(\)|expires_at <= now\(\)/
  const slowSweeps = new Proxy(db.pool, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown
      if (key !== 'query' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value
      return (...args: unknown[]) => {
        if (typeof args[0] === 'string' && SWEEP_STATEMENT.test(args[0])) clock.tick(100)
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  const pollMs = 300
  const { watch } = runningDispatcher(t, { ...db, pool: slowSweeps }, fake.url, { pollIntervalMs: pollMs, clock: loopClock })

  t.same(await watch.pass(1), { claimed: 0, reclaimed: 0, expired: 0 })
  t.equal(clock.now, 200, 'the first pass took 200 ms, all of it sweeping')
  // No LISTEN here: only polling finds this row.
  const id = await enqueue(db)
  t.equal(clock.next(), pollMs, 'the second pass is due one poll after the first began, not one poll after its sweep')
  t.match(await watch.pass(2), { claimed: 1 })
  t.equal(await watch.settled(db, id), 'sent')
})
