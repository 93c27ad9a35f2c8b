import t from 'tap'
import { listenForDueMessages } from '../../src/outbox/dispatch/due-notifications.ts'
import { listenToDueChannel } from '../helpers/due-channel.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { enqueue, runningDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

t.test('a new message wakes an idle dispatcher long before its next poll', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  // A poll this slow would not fire during the test: only the notification can deliver.
  const { dispatcher, watch } = runningDispatcher(t, db, fake.url, { pollIntervalMs: 600_000 })
  let wakeUps = 0
  let listening!: () => void
  const listenerReady = new Promise<void>((resolve) => (listening = resolve))
  const notifications = listenForDueMessages(db.url, {
    onDue: () => {
      wakeUps += 1
      listening()
      dispatcher.wake()
    },
  })
  t.teardown(() => notifications.close())
  // The listener calls onDue once when it connects, with LISTEN in place.
  await listenerReady

  const id = await enqueue(db)
  t.equal(await watch.attempt(id), 'sent')
  t.equal(fake.ledger[0].id, id)
  t.equal(wakeUps, 2, 'woken by the insert trigger’s NOTIFY')
})

t.test('a future-dated message notifies nobody; a due one does', async (t) => {
  const db = await createTestDatabase(t)
  const channel = await listenToDueChannel(t, db.url)
  await enqueue(db, { sendAt: new Date(Date.now() + 3_600_000).toISOString() })
  t.equal(await channel.countSinceLast(), 0, 'nothing for the future-dated message')
  await enqueue(db)
  t.equal(await channel.countSinceLast(), 1, 'one notification for the due message')
})
