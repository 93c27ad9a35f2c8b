import t, { type Test } from 'tap'
import { buildTestApp } from '../helpers/test-app.ts'
import { enqueueEach, enqueueMessages } from '../../src/outbox/enqueue/enqueue.ts'
import { prepareMessage } from '../../src/outbox/enqueue/prepare-message.ts'
import { RecipientSuppressed } from '../../src/outbox/enqueue/recipient-suppressed.ts'
import { recordOutcomes } from '../../src/outbox/dispatch/record-outcomes.ts'
import { claimDue } from '../../src/outbox/dispatch/claim-due.ts'
import { eraseOldAdminActionNumbers } from '../../src/outbox/housekeeping/retention.ts'
import { createSolapiProvider } from '../../src/providers/solapi-provider.ts'
import { createTwilioProvider } from '../../src/providers/twilio-provider.ts'
import { fakeSolapiReplies, startFakeSolapi } from '../helpers/fake-solapi.ts'
import { startFakeTwilio, twilioError } from '../helpers/fake-twilio.ts'
import { enqueue, runningDispatcher, silentLog } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

const ADMIN_TOKEN = 'test-admin-token-0123456789'
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const twilioCredentials = { accountSid: 'AC' + '0'.repeat(32), authToken: 'test-token' }
const solapiCredentials = { apiKey: 'NCSTESTKEY', apiSecret: 'test-secret' }

// Fictional numbers.
const STOPPED = { to: '010-1111-2222', e164: '+821011112222', masked: '+82 10-****-2222' }
const OTHER = { to: '010-3333-4444', e164: '+821033334444' }

async function appFor(t: Test, db: TestDatabase) {
  const app = await buildTestApp({ config: { DATABASE_URL: db.url, ADMIN_TOKEN }, database: db, logger: silentLog })
  t.teardown(() => app.close())
  return app
}

async function twilioDispatcher(t: Test, db: TestDatabase) {
  const fake = await startFakeTwilio(t, twilioCredentials)
  const provider = createTwilioProvider({ ...twilioCredentials, baseUrl: fake.baseUrl, from: '+15005550006' })
  t.teardown(() => provider.close?.())
  return { fake, watch: runningDispatcher(t, db, '', { provider }).watch }
}

const suppressions = (db: TestDatabase) =>
  db.sql('SELECT recipient, reason, error_code, provider, message_id FROM sms_outbox.suppressions ORDER BY recipient')
const messageCount = async (db: TestDatabase) => (await db.sql('SELECT count(*)::int AS n FROM sms_outbox.messages'))[0].n as number

t.test('Twilio: the number-level permanent codes kill the message and suppress the number; others do not', async (t) => {
  const db = await createTestDatabase(t)
  const { fake, watch } = await twilioDispatcher(t, db)
  const cases = [
    ['010-1000-0001', 400, 21610, 'opted_out'],
    ['010-1000-0002', 400, 21211, 'invalid_number'],
    ['010-1000-0003', 400, 21614, 'not_mobile'],
    ['010-1000-0004', 400, 21635, 'not_mobile'],
    // Permanent, but about the sender's route or the message, not the number.
    ['010-1000-0005', 400, 21612, null],
    ['010-1000-0006', 400, 21617, null],
  ] as const
  const codeFor = new Map(cases.map(([to, status, code]) => [`+82${to.replaceAll('-', '').slice(1)}`, [status, code] as const]))
  fake.reply = (receipt) => {
    const [status, code] = codeFor.get(receipt.to)!
    return twilioError(status, code, `refused with ${code}`)
  }
  const ids = new Map<string, string>()
  for (const [to] of cases) ids.set(to, await enqueue(db, { to, maxRetries: 3 }))
  for (const [to] of cases) t.equal(await watch.settled(db, ids.get(to)!), 'dead', `${to} dead`)
  for (const [to] of cases) {
    const [row] = await db.sql('SELECT attempts FROM sms_outbox.messages WHERE id = $1', [ids.get(to)])
    t.equal(row.attempts, 1, `${to}: one attempt, no retry`)
  }
  t.same(
    await suppressions(db),
    cases
      .filter(([, , , reason]) => reason !== null)
      .map(([to, , code, reason]) => ({
        recipient: `+82${to.replaceAll('-', '').slice(1)}`,
        reason,
        error_code: String(code),
        provider: 'twilio',
        message_id: ids.get(to),
      })),
  )
})

t.test('a retryable error, even to the end of the budget, suppresses nothing', async (t) => {
  const db = await createTestDatabase(t)
  const { fake, watch } = await twilioDispatcher(t, db)
  fake.reply = () => twilioError(503, 20503, 'Service unavailable')
  const id = await enqueue(db, { to: STOPPED.to, maxRetries: 1 })
  t.equal(await watch.settled(db, id), 'dead')
  t.same(await suppressions(db), [])
  const app = await appFor(t, db)
  t.equal((await app.inject({ method: 'POST', url: '/v1/messages', payload: { to: STOPPED.to, text: 'again' } })).statusCode, 202)
})

t.test('SOLAPI: an 080 opt-out statusCode suppresses the number; spam does not', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeSolapi(t, solapiCredentials)
  const provider = createSolapiProvider({ ...solapiCredentials, baseUrl: fake.baseUrl, from: '02-1234-5678' })
  t.teardown(() => provider.close?.())
  const { watch } = runningDispatcher(t, db, '', { provider })
  fake.reply = (receipt) =>
    receipt.to === '01011112222'
      ? fakeSolapiReplies.statusCode('1061', '080 수신거부')(receipt, 1)
      : fakeSolapiReplies.statusCode('2254', 'spam')(receipt, 1)
  const optedOut = await enqueue(db, { to: STOPPED.to })
  const spam = await enqueue(db, { to: OTHER.to })
  t.equal(await watch.settled(db, optedOut), 'dead')
  t.equal(await watch.settled(db, spam), 'dead')
  t.same(fake.rejections, [])
  t.same(await suppressions(db), [
    { recipient: STOPPED.e164, reason: 'opted_out', error_code: '1061', provider: 'solapi', message_id: optedOut },
  ])
})

t.test('the suppression is fenced by the lease: a dispatcher that lost its row suppresses nothing', async (t) => {
  const db = await createTestDatabase(t)
  const id = await enqueue(db, { to: STOPPED.to })
  const {
    messages: [claimed],
  } = await claimDue(db.pool, { limit: 1, leaseMs: 60_000, provider: 'twilio', probeIntervalMs: 1_000 })
  const result = {
    id,
    status: 'dead' as const,
    delayMs: 0,
    counted: true,
    outcome: 'permanent' as const,
    errorCode: '21610',
    errorMessage: 'replied STOP',
    httpStatus: 400,
    latencyMs: 5,
    providerMessageId: null,
    suppress: 'opted_out' as const,
  }
  t.same(await recordOutcomes(db.pool, [{ ...result, leaseToken: '00000000-0000-4000-8000-000000000000' }]), [])
  t.same(await suppressions(db), [], 'a stale lease writes neither the death nor the suppression')
  t.same(await recordOutcomes(db.pool, [{ ...result, leaseToken: claimed.leaseToken }]), [id])
  t.match(await suppressions(db), [{ recipient: STOPPED.e164, reason: 'opted_out', message_id: id }])
})

t.test('two deaths of one number in one write: one entry, the first cause kept', async (t) => {
  const db = await createTestDatabase(t)
  const first = await enqueue(db, { to: STOPPED.to, text: 'one' })
  const second = await enqueue(db, { to: STOPPED.to, text: 'two' })
  const { messages: claimed } = await claimDue(db.pool, { limit: 2, leaseMs: 60_000, provider: 'twilio', probeIntervalMs: 1_000 })
  t.equal(claimed.length, 2)
  const results = claimed.map((message) => ({
    id: message.id,
    leaseToken: message.leaseToken,
    status: 'dead' as const,
    delayMs: 0,
    counted: true,
    outcome: 'permanent' as const,
    errorCode: message.id === first ? '21610' : '21211',
    errorMessage: 'refused',
    httpStatus: 400,
    latencyMs: 5,
    providerMessageId: null,
    suppress: message.id === first ? ('opted_out' as const) : ('invalid_number' as const),
  }))
  t.equal((await recordOutcomes(db.pool, results)).length, 2, 'both deaths written')
  const entries = await suppressions(db)
  t.equal(entries.length, 1)
  t.ok([first, second].includes(entries[0].message_id))
})

t.test('enqueue refuses a suppressed number with 422 and writes nothing; single, batch and notification', async (t) => {
  const db = await createTestDatabase(t)
  const app = await appFor(t, db)
  const accepted = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    payload: { to: STOPPED.to, text: 'before' },
    headers: { 'idempotency-key': 'before-the-stop' },
  })
  t.equal(accepted.statusCode, 202)
  await db.sql(`INSERT INTO sms_outbox.suppressions (recipient, reason, error_code, provider) VALUES ($1, 'opted_out', '21610', 'twilio')`, [STOPPED.e164])
  const before = await messageCount(db)

  for (const to of [STOPPED.to, STOPPED.e164]) {
    const single = await app.inject({ method: 'POST', url: '/v1/messages', payload: { to, text: 'after' } })
    t.equal(single.statusCode, 422, to)
    t.match(single.json(), {
      statusCode: 422,
      code: 'RECIPIENT_SUPPRESSED',
      error: 'Unprocessable Entity',
      reason: 'opted_out',
      message: /^to: \+82 10-\*\*\*\*-2222 is on the suppression list \(opted out: twilio answered 21610, .*\); an admin must remove it/,
    })
    t.notMatch(single.body, /11112222/, 'the number is masked in the answer')
  }
  const keyed = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    payload: { to: STOPPED.to, text: 'after' },
    headers: { 'idempotency-key': 'after-the-stop' },
  })
  t.equal(keyed.statusCode, 422, 'with a new idempotency key too')
  const replay = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    payload: { to: STOPPED.to, text: 'before' },
    headers: { 'idempotency-key': 'before-the-stop' },
  })
  t.equal(replay.statusCode, 200, 'a replay of a request accepted before the stop gets its message back')
  t.equal(replay.json().id, accepted.json().id)

  const batch = (messages: object[]) => app.inject({ method: 'POST', url: '/v1/messages/batch', payload: { messages } })
  for (const withKeys of [false, true]) {
    const items = [OTHER.to, STOPPED.to, OTHER.to].map((to, i) => ({
      to,
      text: `batch ${i}`,
      ...(withKeys ? { idempotencyKey: `batch-${i}` } : {}),
    }))
    const refused = await batch(items)
    t.equal(refused.statusCode, 422, `batch ${withKeys ? 'with' : 'without'} keys`)
    t.match(refused.json(), { code: 'RECIPIENT_SUPPRESSED', reason: 'opted_out', message: /^messages\/1\/to: \+82 10-\*\*\*\*-2222 is on the suppression list/ })
  }
  const notified = await app.inject({ method: 'POST', url: '/v1/notifications/result-ready', payload: { to: STOPPED.to, jobId: 'job-1' } })
  t.equal(notified.statusCode, 422)
  t.match(notified.json(), { code: 'RECIPIENT_SUPPRESSED', reason: 'opted_out' })
  t.equal(await messageCount(db), before, 'not one row written')

  // Concurrent single requests share one INSERT: the suppressed one fails alone.
  const parallel = await Promise.all(
    [OTHER.to, STOPPED.to, OTHER.to, STOPPED.to, OTHER.to].map((to) =>
      app.inject({ method: 'POST', url: '/v1/messages', payload: { to, text: 'together' } }),
    ),
  )
  t.same(parallel.map((response) => response.statusCode), [202, 422, 202, 422, 202])
  t.equal(await messageCount(db), before + 3)
})

t.test('enqueueEach reports a suppressed number as a value, its neighbours written', async (t) => {
  const db = await createTestDatabase(t)
  await db.sql(`INSERT INTO sms_outbox.suppressions (recipient, reason) VALUES ($1, 'invalid_number')`, [STOPPED.e164])
  const messages = [OTHER.to, STOPPED.to].map((to) => prepareMessage({ to, text: 'hi' }, { defaultMaxRetries: 3 }))
  const [ok, refused] = await enqueueEach(db.pool, messages, [60, 60])
  t.match(ok, { created: true, message: { to: OTHER.e164 } })
  t.ok(refused instanceof RecipientSuppressed)
  t.match(refused, { reason: 'invalid_number', suppression: { recipient: STOPPED.e164, errorCode: null } })
  await t.rejects(enqueueMessages(db.pool, messages, 60), { name: 'RecipientSuppressed', index: 1 })
})

t.test('admin: list masked and paged, filter by number; remove records the actor; enqueue works again', async (t) => {
  const db = await createTestDatabase(t)
  const app = await appFor(t, db)
  const numbers = Array.from({ length: 5 }, (_, i) => `+8210555500${i}0`)
  for (const [i, number] of numbers.entries()) {
    await db.sql(
      `INSERT INTO sms_outbox.suppressions (recipient, reason, error_code, provider, created_at)
       VALUES ($1, 'opted_out', '21610', 'twilio', now() - make_interval(mins => $2))`,
      [number, 10 - i],
    )
  }
  const messageId = await enqueue(db, { to: STOPPED.to })
  await db.sql(`INSERT INTO sms_outbox.suppressions (recipient, reason, error_code, provider, message_id) VALUES ($1, 'not_mobile', '21614', 'twilio', $2)`, [
    STOPPED.e164,
    messageId,
  ])

  const list = (query: string) => app.inject({ url: `/v1/admin/suppressions${query}`, headers: admin })
  t.equal((await app.inject({ url: '/v1/admin/suppressions' })).statusCode, 401, 'needs the admin token')
  const seen: string[] = []
  let cursor: string | null = null
  do {
    const page = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
    t.equal(page.statusCode, 200)
    const body = page.json()
    t.ok(body.suppressions.length <= 2)
    seen.push(...body.suppressions.map((entry: { to: string }) => entry.to))
    cursor = body.nextCursor
    // The cursor goes into URLs (and so into logs and browser history): it must not carry the number.
    if (cursor) t.notMatch(Buffer.from(cursor, 'base64url').toString('utf8'), /5555|11112222|\+82/, 'the cursor holds no number')
  } while (cursor)
  t.same(seen, [STOPPED.masked, ...numbers.map((n) => `+82 10-****-${n.slice(-4)}`).reverse()], 'newest first, each once, masked')
  t.notMatch(JSON.stringify(seen), /5555|11112222/)

  const only = (await list(`?to=${STOPPED.to}`)).json()
  t.match(only, {
    nextCursor: null,
    suppressions: [{ to: STOPPED.masked, reason: 'not_mobile', errorCode: '21614', provider: 'twilio', messageId }],
  })
  t.equal((await list('?to=12345')).statusCode, 400)
  t.match((await list('?cursor=bm9wZQ')).json(), { statusCode: 400, code: 'INVALID_FILTER' })

  const remove = (payload: object) =>
    app.inject({ method: 'POST', url: '/v1/admin/suppressions/remove', payload, headers: { ...admin, 'x-admin-actor': 'alice' } })
  const removed = await remove({ to: STOPPED.e164 })
  t.equal(removed.statusCode, 200)
  t.match(removed.json(), { removed: true, suppression: { to: STOPPED.masked, reason: 'not_mobile' } })
  t.same(await db.sql('SELECT recipient FROM sms_outbox.suppressions WHERE recipient = $1', [STOPPED.e164]), [])
  const [action] = await db.sql(`SELECT actor, action, recipient, message_id, provider, detail FROM sms_outbox.admin_actions`)
  t.match(action, {
    actor: 'alice',
    action: 'unsuppress',
    recipient: STOPPED.e164,
    message_id: null,
    provider: null,
    detail: { to: STOPPED.masked, reason: 'not_mobile', errorCode: '21614', provider: 'twilio', messageId },
  })
  t.match(await remove({ to: STOPPED.to }), { statusCode: 200 })
  t.same((await remove({ to: STOPPED.to })).json(), { removed: false, suppression: null }, 'harmless twice')
  t.equal((await db.sql('SELECT count(*)::int AS n FROM sms_outbox.admin_actions'))[0].n, 1, 'only a real removal is recorded')

  const sent = await app.inject({ method: 'POST', url: '/v1/messages', payload: { to: STOPPED.to, text: 'welcome back' } })
  t.equal(sent.statusCode, 202, 'accepted again once removed')

  const [{ id }] = await db.sql(`SELECT id FROM sms_outbox.suppressions WHERE recipient = $1`, [numbers[0]])
  t.match((await remove({ id })).json(), { removed: true, suppression: { id } })
  t.equal((await remove({})).statusCode, 400, 'one of to and id')
  t.equal((await remove({ to: STOPPED.to, id })).statusCode, 400, 'not both')
  t.equal((await remove({ to: 'not a number' })).statusCode, 400)
})

t.test('admin: add a number by hand; enqueue refuses it; twice is harmless', async (t) => {
  const db = await createTestDatabase(t)
  const app = await appFor(t, db)
  const add = (payload: object) =>
    app.inject({ method: 'POST', url: '/v1/admin/suppressions', payload, headers: { ...admin, 'x-admin-actor': 'bob' } })
  const first = await add({ to: STOPPED.to })
  t.equal(first.statusCode, 201)
  t.match(first.json(), { created: true, suppression: { to: STOPPED.masked, reason: 'opted_out', errorCode: null, provider: null, messageId: null } })
  const again = await add({ to: STOPPED.e164, reason: 'invalid_number' })
  t.equal(again.statusCode, 200)
  t.match(again.json(), { created: false, suppression: { reason: 'opted_out' } }, 'the first entry stays')
  t.match(await db.sql('SELECT actor, action, recipient, detail FROM sms_outbox.admin_actions'), [
    { actor: 'bob', action: 'suppress', recipient: STOPPED.e164, detail: { to: STOPPED.masked, reason: 'opted_out' } },
  ])
  const refused = await app.inject({ method: 'POST', url: '/v1/messages', payload: { to: STOPPED.to, text: 'hi' } })
  t.match(refused.json(), { statusCode: 422, code: 'RECIPIENT_SUPPRESSED', message: /added by an admin/ })
  t.equal((await add({ to: '02-312-3456' })).statusCode, 400, 'a landline is no number to add')
})

t.test('a pending message whose number is suppressed before its claim is never sent: canceled, RECIPIENT_SUPPRESSED', async (t) => {
  const db = await createTestDatabase(t)
  const app = await appFor(t, db)
  const first = await enqueue(db, { to: STOPPED.to })
  const retry = await enqueue(db, { to: STOPPED.to })
  // A retry: a counted attempt behind it, due again.
  await db.sql(`UPDATE sms_outbox.messages SET attempts = 1, counted_attempts = 1 WHERE id = $1`, [retry])
  const other = await enqueue(db, { to: OTHER.to })
  // As the dispatcher writes it when another message to the number dies of an opt-out.
  await db.sql(`INSERT INTO sms_outbox.suppressions (recipient, reason, error_code, provider) VALUES ($1, 'opted_out', '21610', 'twilio')`, [STOPPED.e164])

  const claim = await claimDue(db.pool, { limit: 10, leaseMs: 60_000, provider: 'twilio', probeIntervalMs: 1_000 })
  t.same(claim.messages.map((message) => message.id), [other], 'only the other number is claimed')
  t.match(
    await db.sql(`SELECT id, status, last_error_code, attempts, lease_token FROM sms_outbox.messages WHERE id = ANY($1) ORDER BY id`, [[first, retry]]),
    [first, retry].sort().map((id) => ({ id, status: 'canceled', last_error_code: 'RECIPIENT_SUPPRESSED', lease_token: null })),
  )
  t.same(await db.sql(`SELECT message_id FROM sms_outbox.message_attempts WHERE message_id <> $1`, [other]), [], 'no attempt opened')
  const detail = (await app.inject({ url: `/v1/messages/${first}` })).json()
  t.match(detail, { status: 'canceled', lastErrorCode: 'RECIPIENT_SUPPRESSED', lastError: /suppression list/ })
})

t.test('admin: suppressing a number cancels its pending and scheduled messages at once, not one being sent', async (t) => {
  const db = await createTestDatabase(t)
  const app = await appFor(t, db)
  const beingSent = await enqueue(db, { to: STOPPED.to })
  const {
    messages: [claimed],
  } = await claimDue(db.pool, { limit: 1, leaseMs: 60_000, provider: 'twilio', probeIntervalMs: 1_000 })
  t.equal(claimed.id, beingSent)
  const waiting = await enqueue(db, { to: STOPPED.to })
  const scheduled = await enqueue(db, { to: STOPPED.to, sendAt: new Date(Date.now() + 3_600_000).toISOString() })
  const dead = await enqueue(db, { to: STOPPED.to })
  await db.sql(`UPDATE sms_outbox.messages SET status = 'dead', last_error_code = '21211' WHERE id = $1`, [dead])
  const other = await enqueue(db, { to: OTHER.to })

  const add = (payload: object) =>
    app.inject({ method: 'POST', url: '/v1/admin/suppressions', payload, headers: { ...admin, 'x-admin-actor': 'carol' } })
  const added = await add({ to: STOPPED.to })
  t.equal(added.statusCode, 201)
  t.match(added.json(), { created: true, canceledPending: 2, suppression: { to: STOPPED.masked } })
  const statuses = await db.sql(`SELECT id, status, last_error_code, last_error FROM sms_outbox.messages`)
  const statusOf = (id: string) => statuses.find((row) => row.id === id)
  t.match(statusOf(waiting), { status: 'canceled', last_error_code: 'RECIPIENT_SUPPRESSED', last_error: /suppression list/ })
  t.match(statusOf(scheduled), { status: 'canceled', last_error_code: 'RECIPIENT_SUPPRESSED' })
  t.match(statusOf(beingSent), { status: 'sending', last_error_code: null }, 'its lease-fenced write decides')
  t.match(statusOf(dead), { status: 'dead', last_error_code: '21211' }, 'terminal rows are untouched')
  t.match(statusOf(other), { status: 'pending' })
  const detail = (await app.inject({ url: `/v1/admin/messages/${scheduled}`, headers: admin })).json()
  t.match(detail, { status: 'canceled', lastErrorCode: 'RECIPIENT_SUPPRESSED' })

  // The send in flight fails retryably: back to pending, and its next claim ends it.
  await recordOutcomes(db.pool, [
    {
      id: beingSent,
      leaseToken: claimed.leaseToken,
      status: 'pending',
      delayMs: 0,
      counted: true,
      outcome: 'retryable',
      errorCode: 'http_503',
      errorMessage: 'unavailable',
      httpStatus: 503,
      latencyMs: 5,
      providerMessageId: null,
    },
  ])
  t.same((await claimDue(db.pool, { limit: 10, leaseMs: 60_000, provider: 'twilio', probeIntervalMs: 1_000 })).messages.map((m) => m.id), [other])
  t.match((await db.sql(`SELECT status, last_error_code FROM sms_outbox.messages WHERE id = $1`, [beingSent]))[0], {
    status: 'canceled',
    last_error_code: 'RECIPIENT_SUPPRESSED',
  })

  const again = await add({ to: STOPPED.e164 })
  t.equal(again.statusCode, 200)
  t.match(again.json(), { created: false, canceledPending: 0 })
})

t.test('a dead message to a suppressed number is not retried, alone or in bulk', async (t) => {
  const db = await createTestDatabase(t)
  const app = await appFor(t, db)
  const stopped = await enqueue(db, { to: STOPPED.to })
  const other = await enqueue(db, { to: OTHER.to })
  await db.sql(`UPDATE sms_outbox.messages SET status = 'dead', attempts = 1, counted_attempts = 1, last_error_code = '21610' WHERE id = ANY($1::uuid[])`, [
    [stopped, other],
  ])
  await db.sql(`INSERT INTO sms_outbox.suppressions (recipient, reason, error_code) VALUES ($1, 'opted_out', '21610')`, [STOPPED.e164])
  const one = await app.inject({ method: 'POST', url: `/v1/admin/messages/${stopped}/retry`, headers: admin })
  t.equal(one.statusCode, 409)
  t.match(one.json(), { code: 'MESSAGE_NOT_RETRYABLE', message: /suppression list/ })
  const dryRun = await app.inject({ method: 'POST', url: '/v1/admin/messages/retry', payload: { errorCode: '21610', dryRun: true }, headers: admin })
  t.match(dryRun.json(), { matched: 1 })
  const bulk = await app.inject({ method: 'POST', url: '/v1/admin/messages/retry', payload: { errorCode: '21610' }, headers: admin })
  t.match(bulk.json(), { retried: 1 })
  t.same(
    await db.sql('SELECT id, status FROM sms_outbox.messages ORDER BY status'),
    [
      { id: stopped, status: 'dead' },
      { id: other, status: 'pending' },
    ],
  )
})

t.test('retention keeps the suppression list, and erases the number from old admin actions', async (t) => {
  const db = await createTestDatabase(t)
  await db.sql(`INSERT INTO sms_outbox.suppressions (recipient, reason, created_at) VALUES ($1, 'opted_out', now() - interval '400 days')`, [STOPPED.e164])
  await db.sql(
    `INSERT INTO sms_outbox.admin_actions (actor, action, recipient, detail, at)
     VALUES ('alice', 'unsuppress', $1, '{"to": "+82 10-****-4444"}', now() - interval '200 hours'),
            ('alice', 'suppress', $2, '{"to": "+82 10-****-2222"}', now())`,
    [OTHER.e164, STOPPED.e164],
  )
  t.equal(await eraseOldAdminActionNumbers(db.pool, { retentionHours: 168 }), 1)
  t.same(await db.sql('SELECT action, recipient, detail FROM sms_outbox.admin_actions ORDER BY id'), [
    { action: 'unsuppress', recipient: null, detail: { to: '+82 10-****-4444' } },
    { action: 'suppress', recipient: STOPPED.e164, detail: { to: '+82 10-****-2222' } },
  ])
  t.equal((await db.sql('SELECT count(*)::int AS n FROM sms_outbox.suppressions'))[0].n, 1, 'the list is never erased')
})

t.test('the database refuses a suppression with an unknown reason and an unsuppress of nothing else', async (t) => {
  const db = await createTestDatabase(t)
  await t.rejects(db.sql(`INSERT INTO sms_outbox.suppressions (recipient, reason) VALUES ('+821011112222', 'annoying')`), /suppressions_reason_valid/)
  await t.rejects(db.sql(`INSERT INTO sms_outbox.admin_actions (actor, action) VALUES ('x', 'delete')`), /admin_actions_action_valid/)
  await t.rejects(db.sql(`INSERT INTO sms_outbox.admin_actions (actor, action) VALUES ('x', 'retry')`), /admin_actions_has_subject/)
  await t.rejects(
    db.sql(`INSERT INTO sms_outbox.admin_actions (actor, action, provider, recipient) VALUES ('x', 'resume', 'solapi', '+821011112222')`),
    /admin_actions_recipient_only_for_suppressions/,
  )
})
