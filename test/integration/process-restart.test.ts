import t from 'tap'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { startService, until } from '../helpers/service-process.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

async function submit(serviceUrl: string, text: string): Promise<{ status: number; id: string }> {
  const response = await fetch(`${serviceUrl}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ to: '010-1234-5678', text }),
  })
  return { status: response.status, id: ((await response.json()) as { id: string }).id }
}

const db = await createTestDatabase(t)
const webhookEnv = (webhookUrl: string) => ({
  DATABASE_URL: db.url,
  SMS_PROVIDER: 'webhook',
  SMS_WEBHOOK_URL: webhookUrl,
  POLL_INTERVAL_MS: '100',
})

t.test('SIGTERM between attempts, then a new process: nothing lost, sent once more', async (t) => {
  const fake = await startFakeWebhook(t)
  fake.reply = (_receipt, n) => (n === 1 ? { status: 503 } : { status: 200 })
  const env = { ...webhookEnv(fake.url), RETRY_BASE_DELAY_MS: '300' }
  const first = await startService(env)
  const { status, id } = await submit(first.url, 'restart-safe')
  t.equal(status, 202)
  await until(() => fake.ledger.length === 1, 'the first attempt')
  first.child.kill('SIGTERM')
  t.equal(await first.exited, 0, 'clean exit on SIGTERM')
  const [between] = await db.sql('SELECT status, attempts FROM sms_outbox.messages WHERE id = $1', [id])
  t.same(between, { status: 'pending', attempts: 1 })

  const second = await startService(env)
  t.teardown(() => second.child.kill('SIGTERM'))
  await until(async () => (await db.sql('SELECT status FROM sms_outbox.messages WHERE id = $1', [id]))[0].status === 'sent', 'sent')
  t.same(fake.ledger.map((r) => r.id), [id, id])
})

t.test('kill -9 mid-call: the lease expires, the attempt is labelled ambiguous, the message is sent', async (t) => {
  const fake = await startFakeWebhook(t)
  fake.reply = (_receipt, n) => (n === 1 ? { hang: true } : { status: 200 })
  const env = { ...webhookEnv(fake.url), PROVIDER_TIMEOUT_MS: '5000', LEASE_MS: '6000' }
  const first = await startService(env)
  const { status, id } = await submit(first.url, 'kill -9')
  t.equal(status, 202)
  await until(() => fake.ledger.length === 1, 'the hung call')
  first.child.kill('SIGKILL')
  await first.exited
  const [held] = await db.sql('SELECT status FROM sms_outbox.messages WHERE id = $1', [id])
  t.equal(held.status, 'sending', 'held under the dead process’s lease')

  const second = await startService(env)
  t.teardown(() => second.child.kill('SIGTERM'))
  await until(async () => (await db.sql('SELECT status FROM sms_outbox.messages WHERE id = $1', [id]))[0].status === 'sent', 'sent', 30_000)
  const attempts = await db.sql('SELECT attempt, outcome, error_code FROM sms_outbox.message_attempts WHERE message_id = $1 ORDER BY attempt', [id])
  t.same(attempts, [
    { attempt: 1, outcome: 'ambiguous', error_code: 'lease_expired' },
    { attempt: 2, outcome: 'ok', error_code: null },
  ])
  t.equal(fake.ledger.length, 2, 'the one duplicate is the one labelled ambiguous')
})
