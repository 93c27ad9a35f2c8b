import { spawn, type ChildProcess } from 'node:child_process'
import t from 'tap'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

// The real binary, as `npm start` runs it, against this file's database.
function startService(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))
  return new Promise((ready, fail) => {
    let output = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      const match = output.match(/sms-outbox API on (http:\/\/[\d.:]+)/)
      if (match) ready({ child, url: match[1], exited })
    })
    child.once('exit', (code) => fail(new Error(`service exited (${code}) before listening: ${output}`)))
  })
}

async function submit(serviceUrl: string, text: string): Promise<{ status: number; id: string }> {
  const response = await fetch(`${serviceUrl}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ to: '010-1234-5678', text }),
  })
  return { status: response.status, id: ((await response.json()) as { id: string }).id }
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = performance.now() + timeoutMs
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 25))
  }
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
  const [between] = await db.sql('SELECT status, attempts FROM messages WHERE id = $1', [id])
  t.same(between, { status: 'pending', attempts: 1 })

  const second = await startService(env)
  t.teardown(() => second.child.kill('SIGTERM'))
  await until(async () => (await db.sql('SELECT status FROM messages WHERE id = $1', [id]))[0].status === 'sent', 'sent')
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
  const [held] = await db.sql('SELECT status FROM messages WHERE id = $1', [id])
  t.equal(held.status, 'sending', 'held under the dead process’s lease')

  const second = await startService(env)
  t.teardown(() => second.child.kill('SIGTERM'))
  await until(async () => (await db.sql('SELECT status FROM messages WHERE id = $1', [id]))[0].status === 'sent', 'sent', 30_000)
  const attempts = await db.sql('SELECT attempt, outcome, error_code FROM message_attempts WHERE message_id = $1 ORDER BY attempt', [id])
  t.same(attempts, [
    { attempt: 1, outcome: 'ambiguous', error_code: 'lease_expired' },
    { attempt: 2, outcome: 'ok', error_code: null },
  ])
  t.equal(fake.ledger.length, 2, 'the one duplicate is the one labelled ambiguous')
})
