// The real service on its embedded PostgreSQL in a DATA_DIR of a test's own, and the ways
// to crash it: for the tests of what a crashed `npm start` leaves behind.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { isAlive, runningServerOn } from '../../src/db/running-embedded-server.ts'
import { processesMentioning } from './cli-process.ts'
import type { FakeWebhook } from './fake-webhook.ts'
import { until, type ServiceProcess } from './service-process.ts'

/** An empty DATA_DIR, removed after the test. */
export function freshDataDir(t: Test): string {
  const dataDir = mkdtempSync(join(tmpdir(), 'sms-outbox-crash-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  return dataDir
}

/** The service's environment: no DATABASE_URL, so the embedded server in DATA_DIR; a webhook provider. */
export const serviceEnv = (dataDir: string, fake: FakeWebhook) => ({
  DATABASE_URL: undefined,
  DATA_DIR: dataDir,
  SMS_PROVIDER: 'webhook',
  SMS_WEBHOOK_URL: fake.url,
  POLL_INTERVAL_MS: '100',
})

/** `npm start`'s process: the compiled entry (`npm test` builds it first), without npm around it. */
export const compiledEntry = { command: [process.execPath, 'dist/main.js'] }

/** POST /v1/messages; the new message's id. */
export async function submit(service: ServiceProcess, text: string): Promise<string> {
  const response = await fetch(`${service.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ to: '010-1234-5678', text }),
  })
  if (response.status !== 202) throw new Error(`submit: HTTP ${response.status}`)
  return ((await response.json()) as { id: string }).id
}

/** Waits until the fake provider received message `id`. */
export const sentBy = (fake: FakeWebhook, id: string) => until(() => fake.ledger.some((r) => r.id === id), `message ${id} sent`)

/** The pid of the PostgreSQL running on `dataDir` (from its postmaster.pid). */
export function postmasterOf(dataDir: string): number {
  const running = runningServerOn(dataDir)
  if (!running) throw new Error(`no PostgreSQL runs on ${dataDir}`)
  return running.pid
}

/** SIGTERM, a clean exit, and then no process of this DATA_DIR left: no server, no watchdog. */
export async function stopCleanly(t: Test, service: ServiceProcess, dataDir: string): Promise<void> {
  service.child.kill('SIGTERM')
  t.equal(await service.exited, 0, 'clean exit on SIGTERM')
  t.same(processesMentioning(dataDir), [], 'no PostgreSQL (nor watchdog) of this DATA_DIR left')
  t.notOk(existsSync(join(dataDir, 'postmaster.pid')), 'the server removed its lock file: a clean shutdown')
}

/** Leaves PostgreSQL running without its owner: the watchdog killed too, then the service. */
export async function orphanTheServer(service: ServiceProcess, dataDir: string): Promise<number> {
  const postmaster = postmasterOf(dataDir)
  const [watchdog, ...others] = processesMentioning(`sms-outbox-watchdog ${dataDir}`)
  if (watchdog === undefined || others.length > 0) throw new Error('expected exactly one watchdog')
  process.kill(watchdog, 'SIGKILL')
  await until(() => !isAlive(watchdog), 'the watchdog gone')
  service.child.kill('SIGKILL')
  await service.exited
  return postmaster
}
