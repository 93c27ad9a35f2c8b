// The dispatcher with a provider that sends batches: SOLAPI's send-many/detail, on a fake
// that speaks its protocol over real HTTP.
import t from 'tap'
import { createSolapiProvider } from '../../src/providers/solapi-provider.ts'
import { fakeSolapiReplies, startFakeSolapi } from '../helpers/fake-solapi.ts'
import { attemptsOf, enqueue, runningDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

const credentials = { apiKey: 'NCSBATCHKEY0001', apiSecret: 'batch-secret-0123456789' }

type TestLike = Parameters<typeof createTestDatabase>[0]

async function setUp(t: TestLike, { batchLimit = 10, providerTimeoutMs = 10_000 } = {}) {
  const db = await createTestDatabase(t)
  const fake = await startFakeSolapi(t, credentials)
  const provider = createSolapiProvider({ ...credentials, baseUrl: fake.baseUrl, from: '02-1234-5678', batchLimit })
  t.teardown(() => provider.close?.())
  // Started once the test has enqueued, so that the first pass claims every message.
  const start = () =>
    runningDispatcher(t, db, '', { provider, providerTimeoutMs, concurrency: 4, batchSize: 50, probeIntervalMs: 60_000 }).watch
  return { db, fake, start }
}

/** `count` messages to fictional numbers 010-0000-00NN, in the order enqueued. */
async function enqueueMany(db: TestDatabase, count: number): Promise<string[]> {
  const ids: string[] = []
  for (let i = 1; i <= count; i += 1) {
    ids.push(await enqueue(db, { to: `010-0000-00${String(i).padStart(2, '0')}`, text: `batch ${i}` }))
  }
  return ids
}

const statuses = async (db: TestDatabase) =>
  Object.fromEntries(
    (await db.sql<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM sms_outbox.messages GROUP BY status')).map(
      ({ status, n }) => [status, n],
    ),
  )

t.test('one claim of 25 goes out as send-many calls of at most 10, every message recorded sent with its own messageId', async (t) => {
  const { db, fake, start } = await setUp(t)
  const ids = await enqueueMany(db, 25)
  const watch = start()
  await Promise.all(ids.map((id) => watch.attempt(id)))
  t.match(await watch.pass(1), { claimed: 25 }, 'one claim')
  t.same(fake.requests, [10, 10, 5])
  t.same(await statuses(db), { sent: 25 })
  const rows = await db.sql<{ id: string; provider_message_id: string }>('SELECT id, provider_message_id FROM sms_outbox.messages')
  t.equal(new Set(rows.map((row) => row.provider_message_id)).size, 25, 'a messageId each')
  // The messageId SOLAPI gave each message is on that message's own row and attempt.
  const attempts = await db.sql<{ message_id: string; provider_message_id: string; outcome: string }>(
    'SELECT message_id, provider_message_id, outcome FROM sms_outbox.message_attempts',
  )
  t.same(
    attempts.map((a) => [a.message_id, a.provider_message_id, a.outcome]).sort(),
    rows.map((row) => [row.id, row.provider_message_id, 'ok']).sort(),
  )
  t.same(new Set(fake.ledger.map((receipt) => receipt.outboxId)), new Set(ids), 'each message reached SOLAPI once')
})

t.test('per-message verdicts in one call: sent, retried, dead and suppressed, each on its own row', async (t) => {
  const { db, fake, start } = await setUp(t)
  const [sentId, retriedId, deadId] = await enqueueMany(db, 3)
  fake.reply = (receipt, n) => {
    if (receipt.to === '01000000002' && n === 1) return fakeSolapiReplies.statusCode('3024', 'server busy')(receipt, n)
    if (receipt.to === '01000000003') return fakeSolapiReplies.statusCode('2060', '080 opt-out')(receipt, n)
    return fakeSolapiReplies.accepted()(receipt, n)
  }
  const watch = start()
  t.same(await Promise.all([sentId, retriedId, deadId].map((id) => watch.attempt(id))), ['sent', 'pending', 'dead'])
  t.same(fake.requests, [3])
  t.same(await db.sql('SELECT recipient, reason, error_code, message_id FROM sms_outbox.suppressions'), [
    { recipient: '+821000000003', reason: 'opted_out', error_code: '2060', message_id: deadId },
  ])
  t.equal(await watch.attempt(retriedId, 2), 'sent', 'the retry went alone, after its backoff')
  t.same(fake.requests, [3, 1])
  t.match(await attemptsOf(db, retriedId), [{ outcome: 'retryable', error_code: '3024' }, { outcome: 'ok' }])
})

t.test("an answer PostgreSQL cannot store as text (NUL, half a surrogate pair) fails no outcome write, its own or its neighbours'", async (t) => {
  const { db, fake, start } = await setUp(t)
  const [sentId, deadId] = await enqueueMany(db, 2)
  // JSON carries both as escapes; SOLAPI's answer is JSON.
  fake.reply = (receipt, n) =>
    receipt.to === '01000000002'
      ? fakeSolapiReplies.statusCode('3010', 'refused \u0000 \ud800 here')(receipt, n)
      : fakeSolapiReplies.accepted()(receipt, n)
  const watch = start()
  t.same(await Promise.all([sentId, deadId].map((id) => watch.attempt(id))), ['sent', 'dead'], 'both written, in one write')
  t.same(fake.requests, [2])
  t.match(await db.sql('SELECT error_code, error_message FROM sms_outbox.message_attempts WHERE message_id = $1', [deadId]), [
    { error_code: '3010', error_message: /refused \ufffd \ufffd here/ },
  ])
})

t.test('a batch refused for the account pauses the provider and burns no attempt', async (t) => {
  const { db, fake, start } = await setUp(t)
  fake.reply = fakeSolapiReplies.error(402, 'NotEnoughBalance')
  const ids = await enqueueMany(db, 6)
  const watch = start()
  await Promise.all(ids.map((id) => watch.attempt(id)))
  t.same(fake.requests, [6])
  t.match(await db.sql('SELECT provider, error_code FROM sms_outbox.provider_pauses'), [{ provider: 'solapi', error_code: 'NotEnoughBalance' }])
  t.same(await statuses(db), { pending: 6 })
  t.same(
    await db.sql('SELECT DISTINCT counted_attempts FROM sms_outbox.messages'),
    [{ counted_attempts: 0 }],
    'an account error is not the messages\' fault',
  )
})

t.test('a call that times out leaves every message of it ambiguous and pending; the next call sends them', async (t) => {
  const { db, fake, start } = await setUp(t, { providerTimeoutMs: 200 })
  fake.reply = (receipt, n) => (n === 1 ? { hang: true } : fakeSolapiReplies.accepted()(receipt, n))
  const ids = await enqueueMany(db, 4)
  const watch = start()
  t.same(await Promise.all(ids.map((id) => watch.attempt(id))), ['pending', 'pending', 'pending', 'pending'])
  t.same(await Promise.all(ids.map((id) => watch.attempt(id, 2))), ['sent', 'sent', 'sent', 'sent'])
  t.same(await statuses(db), { sent: 4 })
  for (const id of ids) t.match(await attemptsOf(db, id), [{ outcome: 'ambiguous', error_code: 'timeout' }, { outcome: 'ok' }])
  t.same(fake.requests, [4, 4])
})

t.test('SOLAPI_BATCH_SIZE=1 (batchLimit 1): one send call per message', async (t) => {
  const { db, fake, start } = await setUp(t, { batchLimit: 1 })
  const ids = await enqueueMany(db, 3)
  const watch = start()
  await Promise.all(ids.map((id) => watch.attempt(id)))
  t.same(fake.requests, [1, 1, 1])
  t.same(await statuses(db), { sent: 3 })
})

