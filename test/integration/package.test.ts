// The package as another project gets it: `npm pack`, installed into a fresh app (npm 11
// runs none of a dependency's install scripts), used from a strict TypeScript consumer
// and a plain .mjs file, both run by plain `node` (no tsx, no loader), and its `sms-outbox
// start` serving the typed client. Slow (an npm install), so all in one file.
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { startService } from '../helpers/service-process.ts'
import { createEmptyDatabase } from '../helpers/test-database.ts'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NPM_QUIET = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']

// About 90 s on a busy 2-core machine (an npm install from the cache, two tsc runs); room
// for the whole suite running beside it.
t.setTimeout(240_000)

const app = mkdtempSync(join(tmpdir(), 'sms-outbox-consumer-'))
t.teardown(() => rmSync(app, { recursive: true, force: true }))

// dist/ is what `npm test` just built; --ignore-scripts keeps prepare from rebuilding it
// under the feet of the test files running beside this one.
await run('npm', ['pack', '--ignore-scripts', '--pack-destination', app, ...NPM_QUIET], { cwd: ROOT })
const tarball = readdirSync(app).find((name) => name.endsWith('.tgz'))!
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
await run(
  'npm',
  ['install', `./${tarball}`, 'pg@^8.23.1', 'typescript@~5.9.3', '@types/node@^20.19.43', '@types/pg@^8.23.1', ...NPM_QUIET],
  { cwd: app },
)

writeFileSync(
  join(app, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: {
      strict: true,
      // As most applications set it: the consumer's own code is checked strictly against
      // our types (the @ts-expect-error lines fail if any of them degrades to any), while
      // typebox's 350 declaration files are not re-checked on every build.
      skipLibCheck: true,
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      outDir: 'out',
      types: ['node'],
    },
    include: ['*.ts'],
  }),
)

// Everything the library offers, in the order an application uses it.
writeFileSync(
  join(app, 'lifecycle.ts'),
  `import pg from 'pg'
import { createOutbox, migrate, startDispatcher, withRetry, type Enqueued, type RunningDispatcher } from 'sms-outbox'

const databaseUrl = process.env.DATABASE_URL!
await migrate(databaseUrl)
const outbox = createOutbox()
const client = new pg.Client({ connectionString: databaseUrl })
await client.connect()

await client.query('BEGIN')
await outbox.enqueue(client, { to: '010-1234-5678', text: 'rolled back' })
await client.query('ROLLBACK')

await client.query('BEGIN')
const committed: Enqueued = await outbox.enqueue(client, { to: '010-1234-5678', text: 'committed from TypeScript' })
await client.query('COMMIT')

const dispatcher: RunningDispatcher = await startDispatcher({
  databaseUrl,
  smsProvider: 'webhook',
  smsWebhookUrl: process.env.WEBHOOK_URL!,
  pollIntervalMs: 100,
  logLevel: 'silent',
})
const status: string = await withRetry(
  async () => {
    const { rows } = await client.query<{ status: string }>('SELECT status FROM sms_outbox.messages WHERE id = $1', [committed.message.id])
    if (rows[0].status !== 'sent') throw new Error(\`still \${rows[0].status}\`)
    return rows[0].status
  },
  { maxRetries: 100, baseDelayMs: 20, maxDelayMs: 100 },
)
await dispatcher.stop()
const { rows: [{ n }] } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM sms_outbox.messages')
await client.end()
console.log(JSON.stringify({ id: committed.message.id, status, rows: n }))

// Typed, not any: each of these must be a type error (never called).
export function typeErrors() {
  // @ts-expect-error pollIntervalMs is a number of milliseconds
  void startDispatcher({ databaseUrl, pollIntervalMs: 'fast' })
  // @ts-expect-error smsProvider is one of the four providers
  void startDispatcher({ databaseUrl, smsProvider: 'carrier-pigeon' })
  // @ts-expect-error a message needs its text
  void outbox.enqueue(client, { to: '010-1234-5678' })
  // @ts-expect-error the id is a string
  const wrong: number = committed.message.id
  return wrong
}
`,
)
writeFileSync(
  join(app, 'client.ts'),
  `import { SmsOutboxClient, type MessageDetail, type SendResult } from 'sms-outbox/client'

const client = new SmsOutboxClient({ baseUrl: process.env.SERVICE_URL!, adminToken: process.env.ADMIN_TOKEN })
const accepted: SendResult = await client.send({ to: '010-1234-5678', text: 'through the typed client' })
const detail: MessageDetail = await client.get(accepted.id)
const stats = await client.admin.stats()
console.log(JSON.stringify({ id: accepted.id, created: accepted.created, status: detail.status, statuses: Object.keys(stats) }))
export function typeErrors() {
  // @ts-expect-error status is one of the message states
  const unknownState: typeof detail.status = 'lost'
  return unknownState
}
`,
)
writeFileSync(
  join(app, 'lifecycle.mjs'),
  `import pg from 'pg'
import { createOutbox, migrate, startDispatcher } from 'sms-outbox'

const databaseUrl = process.env.DATABASE_URL
await migrate(databaseUrl)
const client = new pg.Client({ connectionString: databaseUrl })
await client.connect()
await client.query('BEGIN')
await createOutbox().enqueue(client, { to: '010-1234-5678', text: 'rolled back' })
await client.query('ROLLBACK')
await client.query('BEGIN')
const { message } = await createOutbox().enqueue(client, { to: '010-1234-5678', text: 'committed from JavaScript' })
await client.query('COMMIT')
const dispatcher = await startDispatcher({ databaseUrl, smsProvider: 'webhook', smsWebhookUrl: process.env.WEBHOOK_URL, pollIntervalMs: 100, logLevel: 'silent' })
let status
do {
  status = (await client.query('SELECT status FROM sms_outbox.messages WHERE id = $1', [message.id])).rows[0].status
  if (status !== 'sent') await new Promise((done) => setTimeout(done, 20))
} while (status !== 'sent')
await dispatcher.stop()
const { rows: [{ n }] } = await client.query('SELECT count(*)::int AS n FROM sms_outbox.messages')
await client.end()
console.log(JSON.stringify({ id: message.id, status, rows: n }))
`,
)

const node = (file: string, env: Record<string, string>) =>
  run(process.execPath, [file], { cwd: app, env: { PATH: process.env.PATH, ...env } })

t.test('a strict TypeScript consumer type-checks, compiles and runs the whole lifecycle under plain node', async (t) => {
  const check = await run(join(app, 'node_modules/.bin/tsc'), ['--noEmit'], { cwd: app }).catch((error) => error)
  t.equal(check.code ?? 0, 0, `tsc --noEmit: ${check.stdout}${check.stderr}`)
  await run(join(app, 'node_modules/.bin/tsc'), [], { cwd: app })

  const webhook = await startFakeWebhook(t)
  const databaseUrl = await createEmptyDatabase(t)
  const { stdout } = await node('out/lifecycle.js', { DATABASE_URL: databaseUrl, WEBHOOK_URL: webhook.url })
  const result = JSON.parse(stdout)
  t.same({ status: result.status, rows: result.rows }, { status: 'sent', rows: 1 }, 'the rolled-back message left no row; the committed one was sent')
  t.same(webhook.ledger.map((receipt) => [receipt.id, receipt.text]), [[result.id, 'committed from TypeScript']])
})

t.test('a plain .mjs consumer runs the same lifecycle', async (t) => {
  const webhook = await startFakeWebhook(t)
  const databaseUrl = await createEmptyDatabase(t)
  const { stdout } = await node('lifecycle.mjs', { DATABASE_URL: databaseUrl, WEBHOOK_URL: webhook.url })
  const result = JSON.parse(stdout)
  t.same({ status: result.status, rows: result.rows }, { status: 'sent', rows: 1 })
  t.same(webhook.ledger.map((receipt) => receipt.text), ['committed from JavaScript'])
})

t.test('the installed `sms-outbox start` serves the typed client from sms-outbox/client', async (t) => {
  const webhook = await startFakeWebhook(t)
  const databaseUrl = await createEmptyDatabase(t)
  const adminToken = 'package-test-admin-token'
  const service = await startService(
    { DATABASE_URL: databaseUrl, SMS_PROVIDER: 'webhook', SMS_WEBHOOK_URL: webhook.url, ADMIN_TOKEN: adminToken },
    { command: [join(app, 'node_modules/.bin/sms-outbox'), 'start'] },
  )
  t.teardown(async () => {
    service.child.kill('SIGTERM')
    await service.exited
  })
  const { stdout } = await node('out/client.js', { SERVICE_URL: service.url, ADMIN_TOKEN: adminToken })
  const result = JSON.parse(stdout)
  t.equal(result.created, true)
  t.match(result.status, /^(pending|sending|sent)$/)
  t.ok(result.statuses.length > 0, 'the admin API answered the typed client')
})
