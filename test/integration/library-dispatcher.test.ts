// The library's lifecycle: migrate a database, run a dispatcher in the caller's process,
// stop it without losing a send; and importing the package does nothing by itself.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import t from 'tap'
import { loadConfig } from '../../src/config.ts'
import { ConfigError, createOutbox, migrate, startDispatcher } from '../../src/library/index.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { until } from '../helpers/service-process.ts'
import { createEmptyDatabase, createTestDatabase, openTestDatabase } from '../helpers/test-database.ts'

const LIBRARY_ENTRY = fileURLToPath(new URL('../../src/library/index.ts', import.meta.url))

/** Enqueues in a transaction of a plain pg client (default search_path) and commits. */
async function enqueueCommitted(url: string, text: string): Promise<string> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('BEGIN')
    const { message } = await createOutbox().enqueue(client, { to: '010-1234-5678', text })
    await client.query('COMMIT')
    return message.id
  } finally {
    await client.end()
  }
}

t.test('startDispatcher sends what commits through the configured provider; stop() ends it', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  const dispatcher = await startDispatcher({
    databaseUrl: db.url,
    smsProvider: 'webhook',
    smsWebhookUrl: fake.url,
    logLevel: 'silent',
  })
  t.teardown(() => dispatcher.stop())
  const id = await enqueueCommitted(db.url, 'in-process')
  // The default poll is a second; the insert trigger's NOTIFY wakes it sooner.
  await until(() => fake.ledger.some((receipt) => receipt.id === id), 'the webhook receives the message')
  await until(async () => (await db.sql('SELECT status FROM sms_outbox.messages WHERE id = $1', [id]))[0].status === 'sent', 'it is recorded sent')
  await dispatcher.stop()
  await dispatcher.stop()
  t.pass('stop() resolves, and again')
})

t.test('stop() waits for the send in flight and records it', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = () => ({ status: 200, delayMs: 300 })
  const dispatcher = await startDispatcher({
    databaseUrl: db.url,
    smsProvider: 'webhook',
    smsWebhookUrl: fake.url,
    logLevel: 'silent',
    pollIntervalMs: 50,
  })
  const id = await enqueueCommitted(db.url, 'slow provider')
  await until(() => fake.ledger.some((receipt) => receipt.id === id), 'the provider call is in flight')
  await dispatcher.stop()
  const [row] = await db.sql('SELECT status, attempts FROM sms_outbox.messages WHERE id = $1', [id])
  t.same(row, { status: 'sent', attempts: 1 }, 'the answer that came during stop() is recorded')
  t.same(
    (await db.sql('SELECT outcome FROM sms_outbox.message_attempts WHERE message_id = $1', [id])).map((r) => r.outcome),
    ['ok'],
  )
})

t.test('options are the worker settings, checked as the environment is, with the same message', async (t) => {
  const db = await createTestDatabase(t)
  const sameAsEnvironment = (environment: Record<string, string>) => {
    try {
      loadConfig({ DATABASE_URL: db.url, ...environment })
    } catch (error) {
      return (error as Error).message
    }
    throw new Error('the environment was accepted')
  }
  await t.rejects(startDispatcher({ databaseUrl: db.url, smsProvider: 'webhook' }), {
    name: 'ConfigError',
    message: sameAsEnvironment({ SMS_PROVIDER: 'webhook' }),
  })
  await t.rejects(startDispatcher({ databaseUrl: db.url, pollIntervalMs: 0 }), {
    message: sameAsEnvironment({ POLL_INTERVAL_MS: '0' }),
  })
  await t.rejects(startDispatcher({ databaseUrl: db.url, leaseMs: 1_000, providerTimeoutMs: 5_000 }), {
    message: sameAsEnvironment({ LEASE_MS: '1000', PROVIDER_TIMEOUT_MS: '5000' }),
  })
  await t.rejects(startDispatcher({ databaseUrl: db.url, port: 3000 } as never), ConfigError, 'a service-only setting is no option')
  await t.rejects(startDispatcher({} as never), { message: /databaseUrl is required/ })
})

t.test('migrate creates the tables; a dispatcher refuses a database that lacks them', async (t) => {
  const url = await createEmptyDatabase(t)
  await t.rejects(startDispatcher({ databaseUrl: url, logLevel: 'silent' }), { message: /lacks migrations .*call migrate\(databaseUrl\) first/ })
  await migrate(url)
  await migrate(url)
  const db = openTestDatabase(t, url)
  t.ok((await db.sql(`SELECT to_regclass('sms_outbox.messages') IS NOT NULL AS ok`))[0].ok)
  const dispatcher = await startDispatcher({ databaseUrl: url, logLevel: 'silent' })
  await dispatcher.stop()
})

t.test('importing the package starts nothing, logs nothing and adds no signal handler', async (t) => {
  const probe = `
    const signals = ['SIGINT', 'SIGTERM', 'uncaughtException', 'beforeExit']
    const before = signals.map((s) => process.listenerCount(s))
    const library = await import(${JSON.stringify(LIBRARY_ENTRY)})
    const added = signals.map((s, i) => process.listenerCount(s) - before[i])
    process.stdout.write(JSON.stringify({ added, exports: Object.keys(library).sort() }))`
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { env: process.env })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  // It exits by itself: nothing the import did keeps the event loop alive.
  const code = await new Promise((done) => child.once('close', done))
  t.equal(code, 0, stderr)
  t.equal(stderr, '')
  const { added, exports } = JSON.parse(stdout)
  t.same(added, [0, 0, 0, 0])
  for (const name of ['createOutbox', 'migrate', 'startDispatcher', 'withRetry']) t.ok(exports.includes(name), `exports ${name}`)
})
