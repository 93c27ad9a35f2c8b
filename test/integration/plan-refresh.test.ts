import t, { type Test } from 'tap'
import { connectDatabase } from '../../src/db/database.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { runningDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

/**
 * A dispatcher on a one-connection pool, where every statement of it is planned and the
 * test can read the plans.
 */
async function singleConnectionDispatcher(t: Test, db: TestDatabase) {
  const fake = await startFakeWebhook(t)
  const single = connectDatabase(db.url, { poolSize: 1 })
  t.teardown(() => single.close())
  const running = runningDispatcher(t, { ...db, prisma: single.prisma, pool: single.pool }, fake.url)
  const burst = async (count: number) => {
    await db.sql(
      `INSERT INTO sms_outbox.messages (recipient, body, type, bytes, max_retries, expires_at)
       SELECT '+821012345678', 'burst ' || g, 'SMS', 8, 3, now() + interval '1 hour' FROM generate_series(1, $1::int) AS g`,
      [count],
    )
    running.dispatcher.wake()
  }
  /** The plan a prepared statement of the dispatcher would run now (EXPLAIN does not run it). */
  const planOf = async (execute: string) => {
    const client = await single.pool.connect()
    try {
      const { rows } = await client.query(`EXPLAIN ${execute}`)
      return rows.map((row) => row['QUERY PLAN']).join('\n')
    } finally {
      client.release()
    }
  }
  /** The claim's, with the parameters the dispatcher sends. */
  const claimPlan = () => planOf(`EXECUTE "sms-outbox.claim-due"('webhook', 200, 50, 5000, NULL, NULL, NULL)`)
  /** The outcome write's. */
  const recordPlan = () => planOf(`EXECUTE "sms-outbox.record-outcomes"('[]')`)
  return { ...running, burst, claimPlan, recordPlan }
}

function findsRowsByKey(t: Test, plan: string, statement = 'the claim') {
  t.notMatch(plan, /Seq Scan on messages/, `${statement} finds its rows by their key, not by reading the table`)
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
  const { watch, burst, claimPlan } = await singleConnectionDispatcher(t, db)
  await watch.pass(8)
  await burst(2_000)
  await watch.until(() => watch.attempts.length >= 2_000)
  // TRUNCATE (as an ANALYZE of a table just drained) has PostgreSQL plan the claim
  // again at its next run, for the table as it is: empty.
  await db.sql('TRUNCATE sms_outbox.messages, sms_outbox.message_attempts CASCADE')
  await watch.pass(8)
  t.match(await claimPlan(), /Seq Scan on messages/, 'the plans made on the empty outbox read it whole')
  await burst(20_000)
  await watch.until(() => watch.attempts.length >= 2_200)
  findsRowsByKey(t, await claimPlan())
})

t.test('a worker that polled an empty outbox, fed a few messages at a time as the table grows, gets plans made for the table', async (t) => {
  const db = await createTestDatabase(t)
  const { watch, burst, claimPlan, recordPlan } = await singleConnectionDispatcher(t, db)
  await watch.pass(8)
  await burst(3)
  await watch.until(() => watch.attempts.length >= 3)
  t.match(await claimPlan(), /Seq Scan on messages/, 'the plans made on the empty outbox read it whole')
  // What weeks of traffic leave: sent messages, kept until they are pruned. No claim
  // ever takes all it asks for, so no backlog tells the worker that the table grew.
  await db.sql(
    `INSERT INTO sms_outbox.messages (recipient, body, type, bytes, max_retries, expires_at, status, attempts, counted_attempts, sent_at)
     SELECT '+821012345678', 'sent ' || g, 'SMS', 8, 3, now() + interval '1 hour', 'sent', 1, 1, now() FROM generate_series(1, 20000) AS g`,
  )
  for (let sent = 3; sent < 30; sent += 3) {
    await burst(3)
    await watch.until(() => watch.attempts.length >= sent + 3)
  }
  findsRowsByKey(t, await claimPlan())
  const record = await recordPlan()
  findsRowsByKey(t, record, 'the outcome write')
  // Its rows are sending ones; an index of sending rows holds an entry for every row
  // claimed since the last vacuum, and a bitmap scan of it never marks one dead.
  t.notMatch(record, /messages_lease_expiry_idx|messages_status_created_idx/, 'nor through an index of sending rows')
})
