import t from 'tap'
import { listenForDueMessages } from '../../src/outbox/due-notifications.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { enqueue, webhookDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

t.test('a new message wakes an idle dispatcher long before its next poll', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  // A poll this slow would not fire during the test: only the notification can deliver.
  const { dispatcher, provider } = webhookDispatcher(db, fake.url, { pollIntervalMs: 600_000 })
  let wakeUps = 0
  const notifications = listenForDueMessages(db.url, {
    onDue: () => {
      wakeUps += 1
      dispatcher.wake()
    },
  })
  dispatcher.start()
  t.teardown(async () => {
    await notifications.close()
    await dispatcher.stop()
    await provider.close?.()
  })
  // The listener calls onDue once when it connects; wait for that, so LISTEN is in place.
  while (wakeUps === 0) await new Promise((done) => setTimeout(done, 10))

  const id = await enqueue(db)
  while (fake.ledger.length === 0) await new Promise((done) => setTimeout(done, 10))
  t.equal(fake.ledger[0].id, id)
  t.ok(wakeUps >= 2, 'woken by the insert trigger’s NOTIFY')
})

t.test('a future-dated message notifies nobody', async (t) => {
  const db = await createTestDatabase(t)
  let notified = 0
  const listener = listenForDueMessages(db.url, { onDue: () => (notified += 1) })
  t.teardown(() => listener.close())
  while (notified === 0) await new Promise((done) => setTimeout(done, 10))
  await enqueue(db, { sendAt: new Date(Date.now() + 3_600_000).toISOString() })
  await enqueue(db) // a due one after it: its notification proves the first one's would have arrived
  while (notified < 2) await new Promise((done) => setTimeout(done, 10))
  await new Promise((done) => setTimeout(done, 100))
  t.equal(notified, 2, 'one notification, for the due message only')
})
