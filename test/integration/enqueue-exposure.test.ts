import t from 'tap'
import { startService, type ServiceProcess } from '../helpers/service-process.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

const db = await createTestDatabase(t)
// API_TOKEN empty = unset, whatever the shell running the tests has.
const base = { DATABASE_URL: db.url, ADMIN_TOKEN: 'an-admin-token-0123456789', API_TOKEN: '', API_OPEN: '' }

/** The service's log lines (pino JSON) that mention `pattern`. */
const linesAbout = (service: ServiceProcess, pattern: RegExp) =>
  service
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((line) => pattern.test(line.msg))

const portOf = (service: ServiceProcess) => new URL(service.url).port

async function enqueue(port: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ to: '010-1234-5678', text: 'exposure' }),
  })
  return response.status
}

async function started(t: { teardown(fn: () => unknown): void }, env: Record<string, string>): Promise<ServiceProcess> {
  const service = await startService({ ...base, ...env })
  t.teardown(async () => {
    service.child.kill('SIGTERM')
    await service.exited
  })
  return service
}

t.test('a network HOST without API_TOKEN: boot refuses, naming API_TOKEN and API_OPEN', async (t) => {
  // Killed at the end should it boot after all (the old code did), so that no service outlives the test.
  const refused = startService({ ...base, HOST: '0.0.0.0' }, { onSpawn: (child) => t.teardown(() => child.kill('SIGTERM')) })
  await t.rejects(refused, { message: /service exited \(1\) before listening: .*HOST=0\.0\.0\.0 is not a loopback address and API_TOKEN is not set.*API_OPEN=true/s })
  t.same(await db.sql('SELECT count(*)::int AS n FROM sms_outbox.messages'), [{ n: 0 }])
})

t.test('API_OPEN=true on a network HOST: it boots, says so once, and accepts enqueue without a token', async (t) => {
  const service = await started(t, { HOST: '0.0.0.0', API_OPEN: 'true' })
  const warnings = linesAbout(service, /unauthenticated/)
  t.equal(warnings.length, 1, 'one line')
  t.match(warnings[0], { level: 40, msg: /API_OPEN=true: enqueue is unauthenticated on HOST=0\.0\.0\.0/ })
  t.equal(await enqueue(portOf(service)), 202)
})

t.test('ROLE=worker on a network HOST needs no API_TOKEN: it serves no enqueue API', async (t) => {
  const service = await started(t, { HOST: '0.0.0.0', ROLE: 'worker' })
  t.same(linesAbout(service, /unauthenticated/), [])
  t.equal(await enqueue(portOf(service)), 404)
})

t.test('on loopback (the default) enqueue stays open, and boot says it is unauthenticated', async (t) => {
  const service = await started(t, {})
  const lines = linesAbout(service, /unauthenticated/)
  t.equal(lines.length, 1)
  t.match(lines[0], { msg: /enqueue is unauthenticated \(API_TOKEN is not set\); only this machine can reach it on HOST=127\.0\.0\.1/ })
  t.equal(await enqueue(portOf(service)), 202)

  const guarded = await started(t, { API_TOKEN: 'a-caller-token-0123456789' })
  t.same(linesAbout(guarded, /unauthenticated/), [], 'with API_TOKEN, nothing to say')
  t.equal(await enqueue(portOf(guarded)), 401)
})
