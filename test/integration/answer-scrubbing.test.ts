import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import type { AlertEvent } from '../../src/alerts/alert-event.ts'
import { createLogger } from '../../src/logger.ts'
import { createTwilioProvider } from '../../src/providers/twilio-provider.ts'
import { startFakeTwilio, twilioError } from '../helpers/fake-twilio.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { enqueue, runningDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

// A provider's answer may quote the message it refuses: its text and its number, in forms
// a general number filter leaves alone. Neither may reach the rows, the log or an alert.
const TO = '010-1234-5678'
const TEXT = 'Your verification code is 482913; it expires in 3 minutes.'
const LEAKS = [/1234.?5678/, /12345678/, /482913/, /verification code/]

function capture(t: Test, db: TestDatabase, overrides: Parameters<typeof runningDispatcher>[3] = {}, url = '') {
  let log = ''
  const sink = new Writable({
    write(chunk, _encoding, done) {
      log += chunk
      done()
    },
  })
  const alerts: AlertEvent[] = []
  const { watch } = runningDispatcher(t, db, url, {
    log: createLogger('debug', sink),
    alerts: { notify: (event: AlertEvent) => void alerts.push(event), close: async () => {} },
    ...overrides,
  })
  return { watch, alerts, log: () => log }
}

function assertNoLeak(t: Test, where: string, value: unknown) {
  const text = JSON.stringify(value)
  for (const leak of LEAKS) t.notMatch(text, leak, `${where}: nothing like ${leak}`)
}

t.test('a refusal quoting the text and the number (underscores, slashes): scrubbed from rows, log and alert', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = () => ({
    status: 400,
    body: JSON.stringify({ error: `message "${TEXT}" to 010_1234_5678 (82/10/1234/5678) refused` }),
  })
  const { watch, alerts, log } = capture(t, db, {}, fake.url)
  const id = await enqueue(db, { to: TO, text: TEXT })
  t.equal(await watch.settled(db, id), 'dead')

  const [row] = await db.sql('SELECT last_error FROM sms_outbox.messages WHERE id = $1', [id])
  t.equal(row.last_error, 'webhook answered 400: {"error":"message \\"<text>\\" to <number> (<number>) refused"}')
  const attempts = await db.sql('SELECT error_message FROM sms_outbox.message_attempts WHERE message_id = $1', [id])
  t.equal(attempts.length, 1)
  assertNoLeak(t, 'messages.last_error', row)
  assertNoLeak(t, 'message_attempts.error_message', attempts)
  t.match(log(), /<number>/, 'the log has the answer, scrubbed')
  assertNoLeak(t, 'log', log())
  t.match(alerts, [{ kind: 'dead', messageId: id }])
  assertNoLeak(t, 'alert', alerts.map((alert) => ({ ...alert, to: undefined })))
})

t.test('an account error quoting the number: the pause reason and its alert are scrubbed too', async (t) => {
  const db = await createTestDatabase(t)
  const credentials = { accountSid: 'AC' + '0'.repeat(32), authToken: 'test-token' }
  const fake = await startFakeTwilio(t, credentials)
  fake.reply = () => twilioError(400, 21608, `The number 82/10/1234/5678 is unverified; "${TEXT}" was not sent.`)
  const provider = createTwilioProvider({ ...credentials, baseUrl: fake.baseUrl, from: '+15005550006' })
  t.teardown(() => provider.close?.())
  const { watch, alerts, log } = capture(t, db, { provider })
  const id = await enqueue(db, { to: TO, text: TEXT })
  t.equal(await watch.attempt(id), 'pending', 'an account error uses no retry: the message waits for the pause to end')

  const pauses = await db.sql('SELECT reason FROM sms_outbox.provider_pauses')
  t.match(pauses, [{ reason: /The number <number> is unverified; "<text>" was not sent/ }])
  assertNoLeak(t, 'provider_pauses.reason', pauses)
  t.match(alerts, [{ kind: 'paused', provider: 'twilio' }])
  assertNoLeak(t, 'alert', alerts)
  assertNoLeak(t, 'log', log())
})
