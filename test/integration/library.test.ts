import { readFile } from 'node:fs/promises'
import pg from 'pg'
// The package's entry, from source; test/integration/package.test.ts installs the built package.
import {
  ConfigError,
  createOutbox,
  IdempotencyConflict,
  InvalidMessage,
  RecipientSuppressed,
  type Enqueued,
} from '../../src/library/index.ts'
import t from 'tap'
import { listenForDueMessages } from '../../src/outbox/dispatch/due-notifications.ts'
import { listenToDueChannel } from '../helpers/due-channel.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { webhookDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

const FRONTEND_URL = 'https://findmyrizz.example'

const db = await createTestDatabase(t)
const fake = await startFakeWebhook(t)
// The caller's own business table, which the outbox knows nothing about.
await db.sql(`CREATE TABLE analysis_jobs (id text PRIMARY KEY, status text NOT NULL, finished_at timestamptz)`)

// A dispatcher that polls every ten minutes: within a test, only the insert trigger's
// NOTIFY, delivered at commit, can make it send.
const { dispatcher, provider, watch } = webhookDispatcher(db, fake.url, { pollIntervalMs: 600_000 })
let listening!: () => void
const listenerReady = new Promise<void>((resolve) => (listening = resolve))
const listener = listenForDueMessages(db.url, {
  onDue: () => {
    listening()
    dispatcher.wake()
  },
  gatherMs: 1,
})
dispatcher.start()
t.teardown(async () => {
  await listener.close()
  await dispatcher.stop()
  await provider.close?.()
})
// The listener calls onDue once when LISTEN is in place.
await listenerReady
// What the insert trigger notifies, counted on a connection of the test's own.
const dueChannel = await listenToDueChannel(t, db.url)

const outbox = createOutbox({ frontendUrl: FRONTEND_URL })

async function newJob(id: string) {
  await db.sql(`INSERT INTO analysis_jobs (id, status) VALUES ($1, 'running')`, [id])
}

async function jobStatus(id: string): Promise<string> {
  return (await db.sql('SELECT status FROM analysis_jobs WHERE id = $1', [id]))[0].status
}

async function messageCount(id: string): Promise<number> {
  return (await db.sql('SELECT count(*)::int AS n FROM sms_outbox.messages WHERE id = $1', [id]))[0].n
}

async function allMessages(): Promise<number> {
  return (await db.sql('SELECT count(*)::int AS n FROM sms_outbox.messages'))[0].n
}

/**
 * The webhook's receipt of `id`, once the dispatcher has recorded its attempt. The poll is
 * ten minutes: only the insert trigger's NOTIFY can have woken the dispatcher for it.
 */
async function delivered(id: string) {
  await watch.attempt(id)
  const receipt = fake.ledger.find((r) => r.id === id)
  if (!receipt) throw new Error(`message ${id} was attempted but never reached the webhook`)
  return receipt
}

/** The insert trigger notified nothing since the test's last count: nothing could wake a dispatcher. */
async function nothingNotified(): Promise<boolean> {
  return (await dueChannel.countSinceLast()) === 0
}

/** Rolls back by throwing, as a caller's failing business code would. */
class BusinessFailure extends Error {
  override name = 'BusinessFailure'
}

t.test('Prisma transaction: a rollback leaves neither the job update nor the message', async (t) => {
  await newJob('job-rollback')
  let enqueued: Enqueued | undefined
  await t.rejects(
    db.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE analysis_jobs SET status = 'done', finished_at = now() WHERE id = 'job-rollback'`
      enqueued = await outbox.enqueueResultReady(tx, { to: '010-1234-5678', jobId: 'job-rollback' })
      throw new BusinessFailure('the result upload failed')
    }),
    BusinessFailure,
  )
  t.ok(enqueued, 'enqueue succeeded inside the transaction')
  t.equal(await jobStatus('job-rollback'), 'running')
  t.equal(await messageCount(enqueued!.message.id), 0, 'no message')
  t.ok(await nothingNotified(), 'no dispatcher was woken')
  t.notOk(fake.ledger.some((r) => r.id === enqueued!.message.id), 'nothing was sent')
})

t.test('Prisma transaction: a commit keeps both, and a running dispatcher sends at once', async (t) => {
  await newJob('job-commit')
  await dueChannel.countSinceLast()
  const result = await db.prisma.$transaction(async (tx) => {
    await tx.$executeRaw`UPDATE analysis_jobs SET status = 'done', finished_at = now() WHERE id = 'job-commit'`
    return outbox.enqueueResultReady(tx, { to: '010-1234-5678', jobId: 'job-commit' })
  })
  t.equal(result.created, true)
  t.equal(await jobStatus('job-commit'), 'done')

  t.equal(await dueChannel.countSinceLast(), 1, 'the commit notified')
  const receipt = await delivered(result.message.id)
  const template = (await readFile(new URL('../../templates/result-ready.txt', import.meta.url), 'utf8')).trimEnd()
  t.same(
    { to: receipt.to, text: receipt.text, type: receipt.type },
    {
      to: '+821012345678',
      text: template.replace('${FRONTEND_URL}', FRONTEND_URL).replace('${jobId}', 'job-commit'),
      type: 'LMS',
    },
  )
  t.equal((await db.sql('SELECT status FROM sms_outbox.messages WHERE id = $1', [result.message.id]))[0].status, 'sent', 'recorded as sent')
})

t.test('pg client: ROLLBACK leaves nothing, COMMIT sends', async (t) => {
  const client = new pg.Client({ connectionString: db.url })
  await client.connect()
  t.teardown(() => client.end())
  await newJob('job-pg')
  await dueChannel.countSinceLast()

  await client.query('BEGIN')
  await client.query(`UPDATE analysis_jobs SET status = 'done' WHERE id = 'job-pg'`)
  const rolledBack = await outbox.enqueue(client, { to: '+821098765432', text: '분석이 끝났습니다.' })
  await client.query('ROLLBACK')
  t.equal(await jobStatus('job-pg'), 'running')
  t.equal(await messageCount(rolledBack.message.id), 0, 'no message after ROLLBACK')
  t.ok(await nothingNotified(), 'no dispatcher was woken')

  await client.query('BEGIN')
  await client.query(`UPDATE analysis_jobs SET status = 'done' WHERE id = 'job-pg'`)
  const committed = await outbox.enqueue(client, { to: '+821098765432', text: '분석이 끝났습니다.' })
  t.equal(await messageCount(committed.message.id), 0, 'invisible to others before COMMIT')
  await client.query('COMMIT')
  t.equal(await jobStatus('job-pg'), 'done')
  const receipt = await delivered(committed.message.id)
  t.same({ to: receipt.to, text: receipt.text, type: receipt.type }, { to: '+821098765432', text: '분석이 끝났습니다.', type: 'SMS' })
  t.notOk(fake.ledger.some((r) => r.id === rolledBack.message.id), 'the rolled-back message was never sent')
})

t.test('a pool client inside BEGIN works the same', async (t) => {
  const client = await db.pool.connect()
  t.teardown(() => client.release())
  await client.query('BEGIN')
  const { message } = await outbox.enqueue(client, { to: '010-2222-3333', text: 'pool client' })
  await client.query('ROLLBACK')
  t.equal(await messageCount(message.id), 0)
})

t.test('a PrismaClient or a pool, outside any transaction, commits the message on its own', async (t) => {
  for (const [name, target] of [['PrismaClient', db.prisma], ['pg.Pool', db.pool]] as const) {
    const { message, created } = await outbox.enqueue(target, { to: '010-1234-5678', text: `via ${name}` })
    t.equal(created, true, name)
    t.equal(await messageCount(message.id), 1, name)
    await delivered(message.id)
  }
})

t.test('Prisma and pg read the same message with the same JS types', async (t) => {
  await dueChannel.countSinceLast()
  const sendAt = new Date(Date.now() + 3_600_000)
  const expiresAt = new Date(Date.now() + 7_200_000)
  const request = {
    to: '010-1234-5678',
    text: 'later',
    sendAt,
    expiresAt,
    maxRetries: 7,
    metadata: { jobId: 'a1', tags: ['x', 'é'], nested: { n: 1 } },
    idempotencyKey: 'same-types-1',
  }
  const viaPrisma = await db.prisma.$transaction((tx) => outbox.enqueue(tx, request))
  t.equal(viaPrisma.created, true)
  // The same key through pg returns the stored row, read by pg: the two must be identical.
  const client = new pg.Client({ connectionString: db.url })
  await client.connect()
  t.teardown(() => client.end())
  const viaPg = await outbox.enqueue(client, request)
  t.equal(viaPg.created, false)
  t.strictSame(viaPrisma.message, viaPg.message)
  const { message } = viaPrisma
  for (const key of ['nextAttemptAt', 'createdAt', 'updatedAt', 'expiresAt'] as const) {
    t.ok(message[key] instanceof Date, `${key} is a Date`)
  }
  t.equal(message.nextAttemptAt.getTime(), sendAt.getTime(), 'sendAt went through timestamptz[]')
  t.equal(message.expiresAt.getTime(), expiresAt.getTime(), 'expiresAt went through timestamptz[]')
  t.strictSame(message.metadata, request.metadata, 'metadata went through jsonb[] and came back parsed')
  t.match(message, { status: 'pending', to: '+821012345678', type: 'SMS', bytes: 5, maxRetries: 7, attempts: 0 })
  t.ok(await nothingNotified(), 'a future message wakes nobody')
})

t.test('an idempotency key repeated inside one transaction returns the original', async (t) => {
  const [first, second] = await db.prisma.$transaction(async (tx) => {
    const a = await outbox.enqueue(tx, { to: '010-1234-5678', text: 'once', idempotencyKey: 'repeat-1' })
    const b = await outbox.enqueue(tx, { to: '+821012345678', text: 'once', idempotencyKey: 'repeat-1' })
    return [a, b]
  })
  t.equal(first.created, true)
  t.equal(second.created, false)
  t.equal(second.message.id, first.message.id)
  t.equal((await db.sql(`SELECT count(*)::int AS n FROM sms_outbox.messages WHERE idempotency_key = encode(sha256(convert_to('repeat-1', 'UTF8')), 'hex')`))[0].n, 1)
  await delivered(first.message.id)
})

t.test('a key reused with another message throws IdempotencyConflict and rolls the caller back', async (t) => {
  await newJob('job-conflict')
  await db.prisma.$transaction((tx) => outbox.enqueue(tx, { to: '010-1234-5678', text: 'first', idempotencyKey: 'conflict-1' }))
  const before = await allMessages()
  await t.rejects(
    db.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE analysis_jobs SET status = 'done' WHERE id = 'job-conflict'`
      await outbox.enqueue(tx, { to: '010-1234-5678', text: 'second', idempotencyKey: 'conflict-1' })
    }),
    IdempotencyConflict,
  )
  t.equal(await jobStatus('job-conflict'), 'running', 'the business write was rolled back')
  t.equal(await allMessages(), before)
})

t.test('a suppressed number throws RecipientSuppressed and rolls the caller back', async (t) => {
  await newJob('job-suppressed')
  await db.sql(`INSERT INTO sms_outbox.suppressions (recipient, reason) VALUES ('+821044445555', 'opted_out')`)
  const before = await allMessages()
  await t.rejects(
    db.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE analysis_jobs SET status = 'done' WHERE id = 'job-suppressed'`
      await outbox.enqueueResultReady(tx, { to: '010-4444-5555', jobId: 'job-suppressed' })
    }),
    RecipientSuppressed,
  )
  t.equal(await jobStatus('job-suppressed'), 'running', 'the business write was rolled back')
  t.equal(await allMessages(), before)
})

t.test('result-ready: one message per job, another number for it is a conflict', async (t) => {
  const first = await db.prisma.$transaction((tx) => outbox.enqueueResultReady(tx, { to: '010-5555-6666', jobId: 'job-once' }))
  const again = await db.prisma.$transaction((tx) => outbox.enqueueResultReady(tx, { to: '+821055556666', jobId: 'job-once' }))
  t.equal(again.created, false)
  t.equal(again.message.id, first.message.id)
  const error = await db.prisma
    .$transaction((tx) => outbox.enqueueResultReady(tx, { to: '010-7777-8888', jobId: 'job-once' }))
    .catch((caught: unknown) => caught)
  t.type(error, IdempotencyConflict)
  t.match((error as Error).message, 'job job-once was already notified to a different number')
  const [row] = await db.sql(
    `SELECT idempotency_key = encode(sha256(convert_to('result-ready:job-once', 'UTF8')), 'hex') AS keyed, metadata, extract(epoch FROM expires_at - created_at)::int AS ttl FROM sms_outbox.messages WHERE id = $1`,
    [first.message.id],
  )
  t.same(row, { keyed: true, metadata: { notification: 'result-ready', jobId: 'job-once' }, ttl: 86_400 })
})

t.test('input the REST API refuses throws InvalidMessage, and nothing is written', async (t) => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a landline', { to: '02-312-3456', text: 'hi' }, /^to: /],
    ['full-width digits', { to: '０１０-１２３４-５６７８', text: 'hi' }, /^to: /],
    ['Arabic-Indic digits', { to: '٠١٠١٢٣٤٥٦٧٨', text: 'hi' }, /^to: /],
    ['a NUL in the number', { to: '010-1234-5678\u0000', text: 'hi' }, /^to: /],
    ['an emoji', { to: '010-1234-5678', text: 'done 🎉' }, /^text: /],
    ['empty text', { to: '010-1234-5678', text: '' }, /^text: /],
    ['too many retries', { to: '010-1234-5678', text: 'hi', maxRetries: 21 }, /^maxRetries: /],
    ['an expiry in the past', { to: '010-1234-5678', text: 'hi', expiresAt: new Date(Date.now() - 1_000) }, /^expiresAt: /],
    ['an invalid Date', { to: '010-1234-5678', text: 'hi', sendAt: new Date(Number.NaN) }, /^sendAt: /],
    ['a time without a zone', { to: '010-1234-5678', text: 'hi', sendAt: '2030-01-01T00:00:00' }, /^sendAt: /],
    ['an unknown field', { to: '010-1234-5678', text: 'hi', priority: 'high' }, /^priority: /],
    ['a key with a space', { to: '010-1234-5678', text: 'hi', idempotencyKey: 'a b' }, /^idempotencyKey: /],
    ['a reserved key', { to: '010-1234-5678', text: 'hi', idempotencyKey: 'result-ready:job-1' }, /^idempotencyKey: /],
    ['deep metadata', { to: '010-1234-5678', text: 'hi', metadata: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) }, /^metadata: /],
  ]
  const before = await allMessages()
  await db.prisma.$transaction(async (tx) => {
    for (const [name, input, message] of cases) {
      const error = await outbox.enqueue(tx, input as never).catch((caught: unknown) => caught)
      t.type(error, InvalidMessage, name)
      t.match((error as Error).message, message, name)
    }
    const badJob = await outbox.enqueueResultReady(tx, { to: '010-1234-5678', jobId: '../etc' }).catch((caught: unknown) => caught)
    t.type(badJob, InvalidMessage, 'a job id the route refuses')
    t.match((badJob as Error).message, /^jobId: /)
    const fullWidthJob = await outbox.enqueueResultReady(tx, { to: '０１０-１２３４-５６７８', jobId: 'job-1' }).catch((caught: unknown) => caught)
    t.type(fullWidthJob, InvalidMessage, 'a result-ready number in full-width digits')
  })
  t.equal(await allMessages(), before, 'nothing written, and the transaction was still usable')
})

t.test('options take the service settings, checked as the service checks them', async (t) => {
  t.throws(() => createOutbox({ maxRetries: 21 }), ConfigError)
  t.throws(() => createOutbox({ ttlSeconds: 0 }), /ttlSeconds must be >= 1/)
  t.throws(() => createOutbox({ frontendUrl: 'ftp://x' }), /frontendUrl must match/)
  const shaped = createOutbox({ maxRetries: 0, ttlSeconds: 600, smsMaxBytes: 80 })
  const text = 'x'.repeat(85)
  const { message } = await db.prisma.$transaction((tx) => shaped.enqueue(tx, { to: '010-1234-5678', text, sendAt: new Date(Date.now() + 60_000) }))
  t.match(message, { type: 'LMS', maxRetries: 0 })
  t.equal(message.expiresAt.getTime() - message.nextAttemptAt.getTime(), 600_000)
  const defaults = await db.prisma.$transaction((tx) => outbox.enqueue(tx, { to: '010-1234-5678', text, sendAt: new Date(Date.now() + 60_000) }))
  t.match(defaults.message, { type: 'SMS', maxRetries: 3 })
  t.equal(defaults.message.expiresAt.getTime() - defaults.message.nextAttemptAt.getTime(), 86_400_000)
})
