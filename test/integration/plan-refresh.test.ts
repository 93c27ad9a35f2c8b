import t from 'tap'
import { connectDatabase } from '../../src/db/database.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { runningDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

t.test('a worker that polled an empty outbox drains the burst that follows on plans made for it', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  // One connection: every statement of the dispatcher is planned on it, where the test can read the plans.
  const single = connectDatabase(db.url, { poolSize: 1 })
  t.teardown(() => single.close())
  const { watch, dispatcher } = runningDispatcher(t, { ...db, prisma: single.prisma, pool: single.pool }, fake.url)
  // From its sixth execution PostgreSQL keeps a generic plan, costed for the empty table.
  await watch.pass(8)
  await db.sql(`INSERT INTO sms_outbox.messages (recipient, body, type, bytes, max_retries, expires_at)
                SELECT '+821012345678', 'burst ' || g, 'SMS', 8, 3, now() + interval '1 hour' FROM generate_series(1, 20000) AS g`)
  dispatcher.wake()
  await watch.until(() => watch.attempts.length >= 200)

  const client = await single.pool.connect()
  try {
    // The parameters as the dispatcher sends them; EXPLAIN shows the plan it would run, without running it.
    const { rows } = await client.query(`EXPLAIN EXECUTE "sms-outbox.claim-due"('webhook', 200, 50, 5000, NULL, NULL, NULL, NULL, NULL)`)
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n')
    t.notMatch(plan, /Seq Scan on messages/, 'the claim finds the rows it locked by their key, not by reading the table')
    t.match(plan, /messages_pkey/)
  } finally {
    client.release()
  }
})
