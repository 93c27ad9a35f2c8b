import pg from 'pg'
import t from 'tap'
import { DUE_CHANNEL, listenForDueMessages } from '../../src/outbox/dispatch/due-notifications.ts'
import { enqueueEach, enqueueMessages } from '../../src/outbox/enqueue/enqueue.ts'
import { LocalEnqueues } from '../../src/outbox/enqueue/local-enqueues.ts'
import { prepareMessage } from '../../src/outbox/enqueue/prepare-message.ts'
import { silentLog } from '../helpers/outbox-fixture.ts'
import { buildTestApp } from '../helpers/test-app.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

const due = () => prepareMessage({ to: '010-1234-5678', text: 'hello' }, { defaultMaxRetries: 3 })
const later = () => prepareMessage({ to: '010-1234-5678', text: 'later', sendAt: new Date(Date.now() + 3_600_000).toISOString() }, { defaultMaxRetries: 3 })

t.test('the pool’s own inserts wake the dispatcher when they commit, and their NOTIFY is skipped; other inserts still notify', async (t) => {
  const db = await createTestDatabase(t)
  // Before the pool's first connection, so that it knows every one of them.
  const local = new LocalEnqueues(db.pool)
  let wakeUps = 0
  // The server process of each notification that reached the listener, in order.
  const senders: number[] = []
  const waiters = new Set<() => void>()
  const changed = () => waiters.forEach((check) => check())
  const until = (done: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => done() && (waiters.delete(check), resolve())
      waiters.add(check)
      check()
    })
  // No gather: every notification or local insert is a wake-up of its own, to be counted.
  const notifications = listenForDueMessages(db.url, {
    gatherMs: 0,
    onDue: () => {
      wakeUps += 1
      changed()
    },
    ignoreSender: (processId) => {
      senders.push(processId)
      changed()
      return local.sentByPool(processId)
    },
  })
  t.teardown(() => notifications.close())
  local.onDue(() => notifications.inserted())
  await until(() => wakeUps === 1) // on connecting, with LISTEN in place

  // Notifications of different transactions arrive in commit order: once a marker sent
  // after an insert has reached the listener, so has the insert's own NOTIFY.
  const connection = async () => {
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    t.teardown(() => client.end())
    return { client, pid: (client as pg.Client & { processID: number }).processID }
  }
  const markers = await connection()
  const elsewhere = await connection()
  /** Who sent the notifications that reached the listener after the `since`th, up to a marker sent now. */
  const sendersUpToMarker = async (since: number) => {
    await markers.client.query('SELECT pg_notify($1, $2)', [DUE_CHANNEL, 'marker'])
    await until(() => senders.slice(since).includes(markers.pid))
    return senders.slice(since)
  }

  let since = senders.length
  await local.track(enqueueMessages(db.pool, [due()], 3_600))
  await until(() => wakeUps === 2)
  const [own, marker] = await sendersUpToMarker(since)
  t.ok(own !== undefined && local.sentByPool(own), 'the insert’s NOTIFY came from one of the pool’s connections')
  t.equal(marker, markers.pid)
  t.equal(wakeUps, 3, 'that NOTIFY woke nobody (the insert itself did), the marker did')

  since = senders.length
  await local.track(enqueueMessages(db.pool, [later()], 3_600))
  t.same(await sendersUpToMarker(since), [markers.pid], 'a message scheduled for later notifies nobody')
  t.equal(wakeUps, 4, 'and wakes nobody')

  since = senders.length
  await enqueueEach(elsewhere.client, [due()], [3_600])
  t.same(await sendersUpToMarker(since), [elsewhere.pid, markers.pid])
  t.equal(wakeUps, 6, 'an insert on another connection (another process) still wakes it')
})

t.test('every enqueue route of the API tells the dispatcher of its process', async (t) => {
  const db = await createTestDatabase(t)
  const local = new LocalEnqueues(db.pool)
  let wakeUps = 0
  let nextWakeUp = () => {}
  local.onDue(() => {
    wakeUps += 1
    nextWakeUp()
  })
  const app = await buildTestApp({ config: { DATABASE_URL: db.url, FRONTEND_URL: 'https://app.example' }, database: db, logger: silentLog, localEnqueues: local })
  t.teardown(() => app.close())
  /** Posts, and resolves with the answer's status once the dispatcher has been woken (a route that never wakes it times out). */
  const postWaking = async (url: string, payload: object) => {
    const woken = new Promise<void>((resolve) => (nextWakeUp = resolve))
    const { statusCode } = await app.inject({ method: 'POST', url, payload })
    await woken
    return statusCode
  }

  t.equal(await postWaking('/v1/messages', { to: '010-1234-5678', text: 'one' }), 202)
  t.equal(await postWaking('/v1/messages/batch', { messages: [{ to: '010-1234-5678', text: 'a' }, { to: '010-1234-5678', text: 'b' }] }), 202)
  t.equal(await postWaking('/v1/notifications/result-ready', { to: '010-1234-5678', jobId: 'job-1' }), 202)
  t.equal(wakeUps, 3, 'one wake-up per INSERT')
})
