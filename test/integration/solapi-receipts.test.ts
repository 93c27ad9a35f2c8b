import t from 'tap'
import type { AlertEvent } from '../../src/alerts/alert-event.ts'
import { buildTestApp } from '../helpers/test-app.ts'
import { ReceiptPoller } from '../../src/outbox/dispatch/receipt-poller.ts'
import { createSolapiProvider } from '../../src/providers/solapi-provider.ts'
import { startFakeSolapi } from '../helpers/fake-solapi.ts'
import { enqueue, runningDispatcher, silentLog } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

const credentials = { apiKey: 'NCSRECEIPTKEY', apiSecret: 'receipt-test-secret-0123456789' }
const ADMIN_TOKEN = 'test-admin-token-0123456789'
const INTERVAL_MS = 60_000

async function setUp(t: { teardown(fn: () => unknown): void }) {
  const db = await createTestDatabase(t)
  const fake = await startFakeSolapi(t, credentials)
  const provider = createSolapiProvider({ ...credentials, baseUrl: fake.baseUrl, from: '02-1234-5678', batchLimit: 100 })
  t.teardown(() => provider.close?.())
  const alerts: AlertEvent[] = []
  const receipts: string[] = []
  const listeners = {
    alerts: { notify: (event: AlertEvent) => alerts.push(event), close: async () => {} },
    metrics: { recordReceipt: (name: string, status: string) => receipts.push(`${name} ${status}`) },
  }
  // Started by the first send, so that a test writing its own sent rows has no dispatcher
  // claiming them meanwhile. First asked at once, so that the test need not wait.
  let dispatcher: ReturnType<typeof runningDispatcher> | undefined
  const poller = (batchSize = 100) =>
    new ReceiptPoller({ pool: db.pool, provider, log: silentLog, intervalMs: INTERVAL_MS, ttlSeconds: 3_600, batchSize, timeoutMs: 2_000, ...listeners })
  const app = await buildTestApp({ config: { DATABASE_URL: db.url, ADMIN_TOKEN }, database: db, logger: silentLog })
  t.teardown(() => app.close())
  const get = async (url: string) =>
    (await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()
  const sendOne = async (to: string) => {
    dispatcher ??= runningDispatcher(t, db, '', { provider, deliveryCheckAfterMs: 0 })
    const id = await enqueue(db, { to })
    if ((await dispatcher.watch.settled(db, id)) !== 'sent') throw new Error('not sent')
    return { id, messageId: fake.ledger.at(-1)!.messageId! }
  }
  return { db, fake, poller, get, sendOne, alerts, receipts }
}

/** Time passing for the poller: every scheduled check is due now. */
const everyCheckDue = (db: TestDatabase) =>
  db.sql('UPDATE sms_outbox.messages SET delivery_check_at = now() WHERE delivery_check_at IS NOT NULL')

t.test('sent SOLAPI messages are polled until final: 4000 delivered, a failure code undelivered; the status stays sent', async (t) => {
  const { db, fake, poller, get, sendOne, alerts, receipts } = await setUp(t)
  const delivered = await sendOne('010-1111-2222')
  const refused = await sendOne('010-3333-4444')
  const pending = await sendOne('010-5555-6666')

  t.same(await poller().pollOnce(), { asked: 3, recorded: 0 }, 'all three still with the carrier (3000)')
  t.same(fake.listRequests, [[delivered.messageId, refused.messageId, pending.messageId]], 'one list call for the batch')
  t.same(await poller().pollOnce(), { asked: 0, recorded: 0 }, 'not asked again before the interval')
  const [{ waits }] = await db.sql(`SELECT min(delivery_check_at - now()) > interval '50 seconds' AS waits FROM sms_outbox.messages`)
  t.ok(waits, 'the next check is an interval away')

  fake.deliveries.set(delivered.messageId, '4000')
  fake.deliveries.set(refused.messageId, '3059')
  await everyCheckDue(db)
  // A poller of another process (or after a restart): the schedule is in the database.
  t.same(await poller().pollOnce(), { asked: 3, recorded: 2 })

  t.match(await get(`/v1/admin/messages/${delivered.id}`), { status: 'sent', delivery: { status: 'delivered', at: /^\d{4}-/, errorCode: null } })
  t.match(await get(`/v1/admin/messages/${refused.id}`), { status: 'sent', delivery: { status: 'undelivered', errorCode: '3059' } })
  t.match(await get(`/v1/admin/messages/${pending.id}`), { status: 'sent', delivery: { status: 'unknown', at: null } })
  const page = await get('/v1/admin/messages?delivery=undelivered')
  t.same(page.messages.map((m: { id: string }) => m.id), [refused.id])
  t.match(alerts, [{ kind: 'undelivered', messageId: refused.id, provider: 'solapi', errorCode: '3059' }])
  t.same(receipts.sort(), ['solapi delivered', 'solapi undelivered'])

  const checks = await db.sql<{ id: string; due: boolean }>(`SELECT id, delivery_check_at IS NOT NULL AS due FROM sms_outbox.messages`)
  t.same(Object.fromEntries(checks.map((c) => [c.id, c.due])), { [delivered.id]: false, [refused.id]: false, [pending.id]: true }, 'only the pending one is asked again')
  await everyCheckDue(db)
  t.same(await poller().pollOnce(), { asked: 1, recorded: 0 })
  t.same(fake.listRequests.at(-1), [pending.messageId])
  t.equal(fake.ledger.length, 3, 'nothing was sent again')
  t.same(fake.rejections, [], 'every list call was signed and accepted')
})

t.test('pollers share the work: concurrent passes never ask about one message twice', async (t) => {
  const { db, fake, poller } = await setUp(t)
  // 25 sent messages with SOLAPI ids, all due now.
  for (let i = 0; i < 25; i += 1) {
    const id = await enqueue(db, { to: `010-1000-${String(1000 + i)}` })
    await db.sql(
      `UPDATE sms_outbox.messages SET status = 'sent', provider = 'solapi', provider_message_id = $2, sent_at = now(),
              delivery_check_at = now() WHERE id = $1`,
      [id, `M4VSHARED${String(i).padStart(4, '0')}`],
    )
  }
  const [a, b, c] = [poller(4), poller(4), poller(4)]
  const passes = async (p: ReceiptPoller) => {
    while ((await p.pollOnce()).asked > 0);
  }
  await Promise.all([passes(a), passes(b), passes(c)])
  const asked = fake.listRequests.flat()
  t.equal(asked.length, 25, 'each asked about once')
  t.equal(new Set(asked).size, 25)
  t.ok(fake.listRequests.every((ids) => ids.length <= 4), 'in batches of the claim size')
})

t.test('a failed list call leaves the messages due an interval later; past the TTL a message is asked once more, then never', async (t) => {
  const { db, fake, poller, sendOne } = await setUp(t)
  const { id, messageId } = await sendOne('010-7777-8888')
  fake.listFailure = { status: 500, body: '{"errorCode":"InternalError"}' }
  t.same(await poller().pollOnce(), { asked: 1, recorded: 0 }, 'no throw')
  const [row] = await db.sql(`SELECT delivery_check_at > now() AS later, delivery_status FROM sms_outbox.messages WHERE id = $1`, [id])
  t.same(row, { later: true, delivery_status: 'unknown' })

  fake.listFailure = undefined
  await db.sql(`UPDATE sms_outbox.messages SET sent_at = now() - interval '2 hours', delivery_check_at = now() WHERE id = $1`, [id])
  t.same(await poller().pollOnce(), { asked: 1, recorded: 0 }, 'asked one last time: still 3000')
  t.same(fake.listRequests, [[messageId]])
  const [after] = await db.sql(`SELECT delivery_check_at FROM sms_outbox.messages WHERE id = $1`, [id])
  t.equal(after.delivery_check_at, null, 'older than MESSAGE_TTL_SECONDS: never asked again')
})
