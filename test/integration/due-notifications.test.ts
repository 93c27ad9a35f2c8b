import t, { type Test } from 'tap'
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

/** A listener whose wake-ups the test awaits by number, each stamped with when it came. */
function countedListener(t: Test, url: string, gatherMs: number) {
  const wakeUps: number[] = []
  const waiting = new Map<number, () => void>()
  const notifications = listenForDueMessages(url, {
    gatherMs,
    onDue: () => {
      wakeUps.push(performance.now())
      waiting.get(wakeUps.length)?.()
    },
  })
  t.teardown(() => notifications.close())
  return {
    /** When the `n`th wake-up came (the first is the one on connecting), once it has. */
    async wakeUp(n: number): Promise<number> {
      if (wakeUps.length < n) await new Promise<void>((resolve) => waiting.set(n, resolve))
      return wakeUps[n - 1]
    },
  }
}

t.test('the first due message after a quiet spell wakes the dispatcher at once, not a gather later', async (t) => {
  const db = await createTestDatabase(t)
  // A gather longer than the test: only a wake-up without one can come.
  const listener = countedListener(t, db.url, 600_000)
  await listener.wakeUp(1)
  await enqueue(db)
  await listener.wakeUp(2)
  t.pass('woken without waiting for the gather')
})

t.test('messages due within a gather of the last wake-up wake the dispatcher at the end of that gather, not at once', async (t) => {
  const db = await createTestDatabase(t)
  const gatherMs = 1_000
  const listener = countedListener(t, db.url, gatherMs)
  await listener.wakeUp(1)
  await enqueue(db)
  const woken = await listener.wakeUp(2)
  await enqueue(db)
  await enqueue(db)
  const gathered = await listener.wakeUp(3)
  // A timer never fires early; 1 ms for the two clocks' rounding.
  t.ok(gathered - woken >= gatherMs - 1, `the second wake-up came ${Math.round(gathered - woken)} ms after the first`)
})
