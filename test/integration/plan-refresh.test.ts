import t, { type Test } from 'tap'
import { connectDatabase } from '../../src/db/database.ts'
import type { LoopClock } from '../../src/outbox/dispatch/dispatcher.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { runningDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

/**
 * A dispatcher on a one-connection pool, where every statement of it is planned and the
 * test can read the plans, on a clock the test can move on.
 */
async function singleConnectionDispatcher(t: Test, db: TestDatabase) {
  const fake = await startFakeWebhook(t)
  const single = connectDatabase(db.url, { poolSize: 1 })
  t.teardown(() => single.close())
  const clock = { skewMs: 0 }
  const loopClock: LoopClock = {
    now: () => performance.now() + clock.skewMs,
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (timer) => clearTimeout(timer),
  }
  const running = runningDispatcher(t, { ...db, prisma: single.prisma, pool: single.pool }, fake.url, { clock: loopClock })
  const burst = async (count: number) => {
    await db.sql(
      `INSERT INTO sms_outbox.messages (recipient, body, type, bytes, max_retries, expires_at)
       SELECT '+821012345678', 'burst ' || g, 'SMS', 8, 3, now() + interval '1 hour' FROM generate_series(1, $1::int) AS g`,
      [count],
    )
    running.dispatcher.wake()
  }
  /** The plan the dispatcher's claim would run now, with the parameters it sends (EXPLAIN does not run it). */
  const claimPlan = async () => {
    const client = await single.pool.connect()
    try {
      const { rows } = await client.query(`EXPLAIN EXECUTE "sms-outbox.claim-due"('webhook', 200, 50, 5000, NULL, NULL, NULL)`)
      return rows.map((row) => row['QUERY PLAN']).join('\n')
    } finally {
      client.release()
    }
  }
  return { ...running, clock, burst, claimPlan }
}

function findsRowsByKey(t: Test, plan: string) {
  t.notMatch(plan, /Seq Scan on messages/, 'the claim finds the rows it locked by their key, not by reading the table')
  t.match(plan, /messages_pkey/)
}

t.test('a worker that polled an empty outbox drains the burst that follows on plans made for it', async (t) => {
  const db = await createTestDatabase(t)
  const { watch, burst, claimPlan } = await singleConnectionDispatcher(t, db)
  // From its sixth execution PostgreSQL keeps a generic plan, costed for the empty table.
  await watch.pass(8)
  await burst(20_000)
  await watch.until(() => watch.attempts.length >= 200)
  findsRowsByKey(t, await claimPlan())
})

t.test('a burst soon after another, on plans PostgreSQL made again on the emptied outbox, drains on plans made for it', async (t) => {
  const db = await createTestDatabase(t)
  const { watch, burst, claimPlan, clock } = await singleConnectionDispatcher(t, db)
  await watch.pass(8)
  await burst(2_000)
  await watch.until(() => watch.attempts.length >= 2_000)
  // TRUNCATE (as an ANALYZE of a table just drained) has PostgreSQL plan the claim
  // again at its next run, for the table as it is: empty.
  await db.sql('TRUNCATE sms_outbox.messages, sms_outbox.message_attempts CASCADE')
  await watch.pass(8)
  t.match(await claimPlan(), /Seq Scan on messages/, 'the plans made on the empty outbox read it whole')
  // Seconds after the first burst, not a minute: the limit on refreshes must not hold this one back.
  clock.skewMs += 2_000
  await burst(20_000)
  await watch.until(() => watch.attempts.length >= 2_200)
  findsRowsByKey(t, await claimPlan())
})
