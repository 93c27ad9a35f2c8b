import type pg from 'pg'
import t from 'tap'
import { connectDatabase } from '../../src/db/database.ts'
import { busiestSecond } from '../../bench/measure.ts'
import { loadConfig, providerRateLimit } from '../../src/config.ts'
import { claimDue, RETRY_BUDGET_SLOTS, type ClaimOptions } from '../../src/outbox/dispatch/claim-due.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { enqueue, runningDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

const claimOptions = { limit: 100, leaseMs: 30_000, provider: 'webhook', probeIntervalMs: 60_000 }

async function enqueueMany(db: TestDatabase, count: number): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => enqueue(db, { text: `message ${i}` })))
}

/** Makes `count` pending messages that look like retries: one counted attempt behind them, due now. */
async function pendingRetries(db: TestDatabase, count: number): Promise<string[]> {
  const ids = await enqueueMany(db, count)
  await db.sql(`UPDATE sms_outbox.messages SET attempts = 1, counted_attempts = 1 WHERE id = ANY($1::uuid[])`, [ids])
  return ids
}

function claim(db: TestDatabase, options: Partial<ClaimOptions>) {
  return claimDue(db.pool, { ...claimOptions, ...options })
}

/** `work` in one transaction on one connection: now() stands still in it, whatever the machine's speed. */
async function atOneMoment<T>(db: TestDatabase, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.pool.connect()
  try {
    await client.query('BEGIN')
    const result = await work(client)
    await client.query('COMMIT')
    return result
  } finally {
    client.release()
  }
}

/**
 * Every claim the retry budget counted for the webhook, over all its slots: a count moves
 * from a slot's minute to its previous minute, so within a test's two minutes the sum of
 * both is every claim since the test began.
 */
async function budgetCounts(db: TestDatabase): Promise<{ first_attempts: number; retries: number }> {
  const [counts] = await db.sql<{ first_attempts: number; retries: number }>(`
    SELECT coalesce(sum(first_attempts + previous_first_attempts), 0)::int AS first_attempts,
           coalesce(sum(retries + previous_retries), 0)::int AS retries
    FROM sms_outbox.retry_budget_counts WHERE provider = 'webhook'`)
  return counts
}

t.test('rate limit: a fresh bucket lets out its burst, then one message per 1/rate seconds', async (t) => {
  const db = await createTestDatabase(t)
  await enqueueMany(db, 20)
  // One message per 10 s: far slower than two statements, however busy the machine.
  const rateLimit = { perSecond: 0.1, bucketSize: 3 }
  // Idle for an hour: the bucket is full, whenever the template database was migrated.
  await db.sql(`UPDATE sms_outbox.provider_limits SET refilled_at = now() - interval '1 hour' WHERE provider = 'webhook'`)

  const first = await claim(db, { rateLimit })
  t.equal(first.messages.length, 3, 'the burst')
  t.equal(first.claimAgainInMs, 10_000, 'the next whole message is 1/0.1 s away')

  const second = await claim(db, { rateLimit })
  t.equal(second.messages.length, 0, 'nothing while the bucket refills')
  t.ok(second.claimAgainInMs! > 0 && second.claimAgainInMs! <= 10_000, `waits ${second.claimAgainInMs} ms`)

  // A minute passes for the bucket: its last refill moves back on the database's clock.
  await db.sql(`UPDATE sms_outbox.provider_limits SET refilled_at = refilled_at - interval '1 minute' WHERE provider = 'webhook'`)
  const third = await claim(db, { rateLimit })
  t.equal(third.messages.length, 3, 'six messages of refill are capped at the burst')

  t.same(await budgetCounts(db), { first_attempts: 6, retries: 0 }, 'the retry budget counts what was claimed')
  const unlimited = await claim(db, {})
  t.equal(unlimited.messages.length, 14, 'without a rate limit the rest goes at once')
  t.equal(unlimited.claimAgainInMs, null)
})

t.test('rate limit: four dispatchers on their own pools never exceed the limit plus the burst in any second', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  // As the service configures it: PROVIDER_RATE_LIMIT=20 documents a burst of 2, and the
  // bucket holds 1, leaving 50 ms for the spread of latency between claim and receipt.
  const perSecond = 20
  const burst = 2
  const rateLimit = providerRateLimit(loadConfig({ PROVIDER_RATE_LIMIT: String(perSecond) }))!
  t.same(rateLimit, { perSecond, bucketSize: burst / 2 })
  const count = 61
  await enqueueMany(db, count)

  // A poll of ten minutes: only the claims' own wake-ups, when the limit lets the next
  // message out, can drain the 3 s backlog before tap's timeout fails the test.
  const running = Array.from({ length: 4 }, () => {
    const own = connectDatabase(db.url, { poolSize: 3 })
    t.teardown(() => own.close())
    return runningDispatcher(t, { ...db, prisma: own.prisma, pool: own.pool }, fake.url, { rateLimit, pollIntervalMs: 600_000 })
  })
  const watches = running.map(({ watch }) => watch)
  const drained = () => watches.reduce((sum, watch) => sum + watch.attempts.length, 0) === count
  await Promise.race(watches.map((watch) => watch.until(drained)))
  await Promise.all(running.map(({ dispatcher }) => dispatcher.stop()))

  // Claims are timed on the database's clock, as the bucket is: the limit holds there
  // exactly, whatever the HTTP calls after them took.
  const claims = await db.sql<{ at: number }>(
    `SELECT (extract(epoch FROM started_at) * 1000)::float8 AS at FROM sms_outbox.message_attempts`,
  )
  const busiest = busiestSecond(claims.map((claim) => claim.at))
  t.ok(busiest <= perSecond + burst, `at most ${perSecond + burst} in any second: ${busiest}`)
  t.equal(new Set(fake.ledger.map((receipt) => receipt.id)).size, count, 'each message once')
  const [attempts] = await db.sql<{ most: number; sent: number }>(
    `SELECT max(attempts) AS most, count(*) FILTER (WHERE status = 'sent')::int AS sent FROM sms_outbox.messages`,
  )
  t.same(attempts, { most: 1, sent: count }, 'held back, not failed: no retry used')
})

t.test('retry budget: first attempts always go; retries get the ratio of first attempts plus the floor', async (t) => {
  const db = await createTestDatabase(t)
  const retryBudget = { ratio: 0.5, minPerMinute: 2 }
  const retries = await pendingRetries(db, 10)
  await enqueueMany(db, 4)

  const first = await claim(db, { retryBudget })
  const retried = (ids: string[]) => ids.filter((id) => retries.includes(id)).length
  t.equal(first.messages.length, 6, 'all 4 first attempts and the floor of 2 retries')
  t.equal(retried(first.messages.map((m) => m.id)), 2)

  const second = await claim(db, { retryBudget })
  t.equal(second.messages.length, 2, '0.5 x 4 first attempts + 2 - 2 retries taken = 2 more')
  t.equal(retried(second.messages.map((m) => m.id)), 2)

  t.equal((await claim(db, { retryBudget })).messages.length, 0, 'the budget is spent; the retries wait, due')
  const [waiting] = await db.sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM sms_outbox.messages WHERE status = 'pending' AND next_attempt_at <= now()`,
  )
  t.equal(waiting.n, 6)

  await enqueueMany(db, 2)
  const fourth = await claim(db, { retryBudget })
  t.equal(fourth.messages.length, 2, 'two new first attempts go ahead of the waiting retries')
  t.equal(retried(fourth.messages.map((m) => m.id)), 0)
  const fifth = await claim(db, { retryBudget })
  t.equal(fifth.messages.length, 1, 'and earn one more retry: 0.5 x 6 + 2 - 4')
  t.equal(retried(fifth.messages.map((m) => m.id)), 1)

  const unbudgeted = await claim(db, {})
  t.equal(unbudgeted.messages.length, 5, 'without a budget every due retry goes')
})

t.test('retry budget: the previous minute counts by the share of it still inside the last 60 s', async (t) => {
  const db = await createTestDatabase(t)
  const retryBudget = { ratio: 0.5, minPerMinute: 0 }
  await pendingRetries(db, 20)
  const { seconds, claimed } = await atOneMoment(db, async (client) => {
    // The previous clock minute saw 12 first attempts, spread over two slots.
    await client.query(`
      INSERT INTO sms_outbox.retry_budget_counts (provider, slot, minute, first_attempts)
      VALUES ('webhook', 3, date_trunc('minute', now()) - interval '1 minute', 8),
             ('webhook', 9, date_trunc('minute', now()) - interval '1 minute', 4)`)
    const [{ seconds }] = (await client.query(`SELECT extract(epoch FROM now() - date_trunc('minute', now()))::float8 AS seconds`)).rows
    return { seconds: seconds as number, claimed: await claimDue(client, { ...claimOptions, retryBudget }) }
  })
  const expected = Math.floor(0.5 * 12 * (1 - seconds / 60))
  t.equal(claimed.messages.length, expected, `${seconds.toFixed(1)} s into this minute: floor(0.5 x 12 x ${(1 - seconds / 60).toFixed(3)}) = ${expected}`)

  await db.sql(`DELETE FROM sms_outbox.retry_budget_counts`)
  await db.sql(`
    INSERT INTO sms_outbox.retry_budget_counts (provider, slot, minute, first_attempts)
    VALUES ('webhook', 0, date_trunc('minute', now()) - interval '2 minutes', 50)`)
  t.equal((await claim(db, { retryBudget: { ratio: 0.5, minPerMinute: 2 } })).messages.length, 2, 'counts two minutes old are forgotten: the floor')
})

t.test('retry budget: a slot rolls on to the minute it is written in', async (t) => {
  const db = await createTestDatabase(t)
  await enqueueMany(db, 3)
  const rolled = await atOneMoment(db, async (client) => {
    // Every slot a claim can pick, last written a minute ago.
    await client.query(`
      INSERT INTO sms_outbox.retry_budget_counts (provider, slot, minute, first_attempts, retries, previous_first_attempts)
      SELECT 'webhook', slot, date_trunc('minute', now()) - interval '1 minute', 10, 5, 7 FROM generate_series(0, $1::int - 1) AS slot`, [RETRY_BUDGET_SLOTS])
    await claimDue(client, { ...claimOptions, limit: 3 })
    return (await client.query(`
      SELECT first_attempts, retries, previous_first_attempts, previous_retries
      FROM sms_outbox.retry_budget_counts WHERE minute = date_trunc('minute', now())`)).rows
  })
  t.same(
    rolled,
    [{ first_attempts: 3, retries: 0, previous_first_attempts: 10, previous_retries: 5 }],
    "the claim's slot: its minute's counts became the previous ones, the ones before them forgotten",
  )
})

t.test("without a rate limit, a claim does not wait for another's uncommitted count", async (t) => {
  const db = await createTestDatabase(t)
  await enqueueMany(db, 4)
  const holder = await db.pool.connect()
  const other = await db.pool.connect()
  t.teardown(() => {
    holder.release()
    other.release()
  })
  // Seeds for random() under which the two claims pick different slots, as most claims
  // side by side do; picking the same one, the second would wait for the first's commit.
  const slotAfter = async (seed: number) => {
    await other.query('SELECT setseed($1)', [seed])
    return (await other.query('SELECT floor(random() * $1)::int AS slot', [RETRY_BUDGET_SLOTS])).rows[0].slot as number
  }
  const holderSeed = 0.25
  let otherSeed = -0.5
  while ((await slotAfter(otherSeed)) === (await slotAfter(holderSeed))) otherSeed += 0.01

  await holder.query('BEGIN')
  await holder.query('SELECT setseed($1)', [holderSeed])
  t.equal((await claimDue(holder, { ...claimOptions, limit: 2 })).messages.length, 2, 'the first claim holds its count, uncommitted')
  // Waiting for the holder's commit would end in the pool's statement timeout, not a hang.
  await other.query('SELECT setseed($1)', [otherSeed])
  t.equal((await claimDue(other, { ...claimOptions, limit: 2 })).messages.length, 2, 'the second claims beside it')
  await holder.query('COMMIT')
  const slots = await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM sms_outbox.retry_budget_counts WHERE provider = 'webhook'`)
  t.equal(slots[0].n, 2, 'each counted in its own slot')
  t.same(await budgetCounts(db), { first_attempts: 4, retries: 0 })
})

t.test('without a rate limit, claims running side by side each add what they took to the shared counts', async (t) => {
  const db = await createTestDatabase(t)
  const retries = await pendingRetries(db, 60)
  await enqueueMany(db, 240)
  const pools = Array.from({ length: 6 }, () => connectDatabase(db.url, { poolSize: 1 }))
  t.teardown(() => Promise.all(pools.map((pool) => pool.close())))
  // No budget: the claims do not limit each other, so only the counting is under test.
  const claims = await Promise.all(pools.flatMap((pool) => [1, 2, 3].map(() => claimDue(pool.pool, { ...claimOptions, limit: 20 }))))
  const taken = claims.flatMap((c) => c.messages.map((m) => m.id))
  t.equal(new Set(taken).size, taken.length, 'no row claimed twice')
  // A claim skips rows another one holds, so how many the 18 took depends on timing; the
  // counts must match them whatever it was.
  t.ok(taken.length >= 200, `${taken.length} of 300 rows claimed`)
  const retriesTaken = taken.filter((id) => retries.includes(id)).length
  t.same(await budgetCounts(db), { first_attempts: taken.length - retriesTaken, retries: retriesTaken }, 'no claim overwrote another\'s count')
})

t.test("a provider without its shared row: the claim makes it and claims nothing, so that two can't spend a fresh bucket each", async (t) => {
  const db = await createTestDatabase(t)
  await enqueueMany(db, 20)
  await db.sql(`DELETE FROM sms_outbox.provider_limits WHERE provider = 'webhook'`)
  const rateLimit = { perSecond: 1, bucketSize: 5 }
  const claims = [
    ...(await Promise.all([claim(db, { rateLimit }), claim(db, { rateLimit })])),
    ...(await Promise.all([claim(db, { rateLimit }), claim(db, { rateLimit })])),
  ]
  const making = claims.slice(0, 2).filter((c) => c.messages.length === 0 && c.claimAgainInMs === 0)
  t.ok(making.length >= 1, 'the first to run makes the row, claims nothing and asks to claim again at once')
  const taken = claims.reduce((sum, { messages }) => sum + messages.length, 0)
  t.equal(taken, 5, 'four claims, two at a time, take one burst between them')
})

t.test('a probe of a paused provider is not held back by the budget', async (t) => {
  const db = await createTestDatabase(t)
  await pendingRetries(db, 3)
  await db.sql(`
    INSERT INTO sms_outbox.provider_pauses (provider, error_code, reason, next_probe_at) VALUES ('webhook', 'x', 'test', now());
    INSERT INTO sms_outbox.retry_budget_counts (provider, slot, minute, retries) VALUES ('webhook', 0, date_trunc('minute', now()), 100)`)
  const probe = await claim(db, { retryBudget: { ratio: 0.2, minPerMinute: 1 } })
  t.equal(probe.messages.length, 1)
  t.equal(probe.messages[0].probe, true)
})
