// The dispatcher with a provider that sends batches: SOLAPI's send-many/detail, on a fake
// that speaks its protocol over real HTTP.
import t from 'tap'
import { createSolapiProvider } from '../../src/providers/solapi-provider.ts'
import { fakeSolapiReplies, startFakeSolapi } from '../helpers/fake-solapi.ts'
import { attemptsOf, enqueue, webhookDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

const credentials = { apiKey: 'NCSBATCHKEY0001', apiSecret: 'batch-secret-0123456789' }

async function setUp(t: Parameters<typeof createTestDatabase>[0], { batchLimit = 10, providerTimeoutMs = 1_000 } = {}) {
  const db = await createTestDatabase(t)
  const fake = await startFakeSolapi(t, credentials)
  const provider = createSolapiProvider({ ...credentials, baseUrl: fake.baseUrl, from: '02-1234-5678', batchLimit })
  t.teardown(() => provider.close?.())
  const { dispatcher } = webhookDispatcher(db, '', { provider, providerTimeoutMs, concurrency: 4, batchSize: 50 })
  return { db, fake, dispatcher }
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
  const { db, fake, dispatcher } = await setUp(t)
  const ids = await enqueueMany(db, 25)
  t.same(await dispatcher.tick(), { reclaimed: 0, expired: 0, claimed: 25 })
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
  const { db, fake, dispatcher } = await setUp(t)
  const [sentId, retriedId, deadId] = await enqueueMany(db, 3)
  fake.reply = (receipt, n) => {
    if (receipt.to === '01000000002' && n === 1) return fakeSolapiReplies.statusCode('3024', 'server busy')(receipt, n)
    if (receipt.to === '01000000003') return fakeSolapiReplies.statusCode('2060', '080 opt-out')(receipt, n)
    return fakeSolapiReplies.accepted()(receipt, n)
  }
  await dispatcher.tick()
  t.same(fake.requests, [3])
  const status = async (id: string) => (await db.sql<{ status: string }>('SELECT status FROM sms_outbox.messages WHERE id = $1', [id]))[0].status
  t.equal(await status(sentId), 'sent')
  t.equal(await status(retriedId), 'pending')
  t.equal(await status(deadId), 'dead')
  t.same(await db.sql('SELECT recipient, reason, error_code, message_id FROM sms_outbox.suppressions'), [
    { recipient: '+821000000003', reason: 'opted_out', error_code: '2060', message_id: deadId },
  ])
  await new Promise((done) => setTimeout(done, 100))
  await dispatcher.tick()
  t.equal(await status(retriedId), 'sent', 'the retry went alone, after its backoff')
  t.same(fake.requests, [3, 1])
  t.match(await attemptsOf(db, retriedId), [{ outcome: 'retryable', error_code: '3024' }, { outcome: 'ok' }])
})

t.test('a batch refused for the account pauses the provider and burns no attempt', async (t) => {
  const { db, fake, dispatcher } = await setUp(t)
  fake.reply = fakeSolapiReplies.error(402, 'NotEnoughBalance')
  await enqueueMany(db, 6)
  await dispatcher.tick()
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
  const { db, fake, dispatcher } = await setUp(t, { providerTimeoutMs: 200 })
  fake.reply = (receipt, n) => (n === 1 ? { hang: true } : fakeSolapiReplies.accepted()(receipt, n))
  const ids = await enqueueMany(db, 4)
  await dispatcher.tick()
  t.same(await statuses(db), { pending: 4 })
  for (const id of ids) t.match(await attemptsOf(db, id), [{ outcome: 'ambiguous', error_code: 'timeout' }])
  await new Promise((done) => setTimeout(done, 100))
  await dispatcher.tick()
  t.same(await statuses(db), { sent: 4 })
  t.same(fake.requests, [4, 4])
})

t.test('SOLAPI_BATCH_SIZE=1 (batchLimit 1): one send call per message', async (t) => {
  const { db, fake, dispatcher } = await setUp(t, { batchLimit: 1 })
  await enqueueMany(db, 3)
  await dispatcher.tick()
  t.same(fake.requests, [1, 1, 1])
  t.same(await statuses(db), { sent: 3 })
})

