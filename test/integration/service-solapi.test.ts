import t from 'tap'
import { fakeSolapiReplies, startFakeSolapi } from '../helpers/fake-solapi.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { startService, until } from '../helpers/service-process.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

// The whole wiring, as an operator configures it: the binary, SOLAPI, alerts, the template.
t.test('result-ready through SOLAPI: an empty balance pauses and alerts once; a top-up resumes and sends', async (t) => {
  const db = await createTestDatabase(t)
  const credentials = { apiKey: 'NCSPROCESSKEY', apiSecret: 'process-secret' }
  const solapi = await startFakeSolapi(t, credentials)
  solapi.reply = fakeSolapiReplies.error(402, 'NotEnoughBalance', 'insufficient balance')
  // Alerts are JSON with `text`; the webhook fake records any JSON body.
  const alertSink = await startFakeWebhook(t)
  const alertTexts = () => alertSink.ledger.map((receipt) => receipt.text)

  const service = await startService({
    DATABASE_URL: db.url,
    SMS_PROVIDER: 'solapi',
    SOLAPI_API_KEY: credentials.apiKey,
    SOLAPI_API_SECRET: credentials.apiSecret,
    SOLAPI_BASE_URL: solapi.baseUrl,
    SMS_FROM: '02-1234-5678',
    ALERT_WEBHOOK_URL: alertSink.url,
    ALERT_WINDOW_MS: '100',
    PAUSE_PROBE_INTERVAL_MS: '500',
    RETRY_MAX_RETRIES: '0',
    FRONTEND_URL: 'https://findmyrizz.example',
    POLL_INTERVAL_MS: '100',
  })
  t.teardown(() => service.child.kill('SIGTERM'))

  const response = await fetch(`${service.url}/v1/notifications/result-ready`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ to: '010-1234-5678', jobId: 'job-42' }),
  })
  t.equal(response.status, 202)
  const { id } = (await response.json()) as { id: string }

  await until(() => alertTexts().some((text) => /paused provider solapi \(NotEnoughBalance\)/.test(text)), 'the pause alert')
  solapi.reply = fakeSolapiReplies.accepted()
  const status = async () => (await db.sql('SELECT status FROM sms_outbox.messages WHERE id = $1', [id]))[0].status
  await until(async () => (await status()) === 'sent', 'the probe to send it')
  await until(() => alertTexts().some((text) => /resumed provider solapi/.test(text)), 'the resume alert')

  t.equal(alertTexts().filter((text) => /paused/.test(text)).length, 1, 'one pause alert')
  const [row] = await db.sql('SELECT attempts, counted_attempts FROM sms_outbox.messages WHERE id = $1', [id])
  t.ok(row.attempts >= 2, `${row.attempts} calls, the failed ones uncounted`)
  t.equal(row.counted_attempts, 1, 'with no retries allowed, the balance errors used none')
  const sent = solapi.ledger.at(-1)!
  t.match(sent, { to: '01012345678', from: '0212345678', type: 'LMS', text: /https:\/\/findmyrizz\.example\/results\/job-42/ })
  t.same(solapi.rejections, [], 'every request was signed afresh and accepted')

  service.child.kill('SIGTERM')
  t.equal(await service.exited, 0)
  t.notMatch(service.output(), /1012345678/, 'the log never holds the full number')
  t.notMatch(JSON.stringify(alertSink.ledger), /1012345678/, 'nor do the alerts')
})
