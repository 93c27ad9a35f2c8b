import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts'
import { CLI_BIN, processesMentioning, runCli } from '../helpers/cli-process.ts'
import { enqueue } from '../helpers/outbox-fixture.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

const db = await createTestDatabase(t)
const env = { ...process.env, DATABASE_URL: db.url }
const cli = (...args: string[]) => runCli(args, env)

// Fictional numbers, in every form one could leak in: E.164, domestic, with dashes.
const NUMBER = '010-1234-5678'
const OTHER_NUMBER = '010-2345-6789'
const leaks = (output: string) =>
  ['+821012345678', '01012345678', '1012345678', NUMBER, '+821023456789', '01023456789', OTHER_NUMBER].filter((form) =>
    output.includes(form),
  )

async function markDead(id: string, errorCode: string, error: string) {
  // The state a dispatcher leaves: every attempt of the budget used (3 retries), no lease.
  await db.sql(
    `UPDATE sms_outbox.messages SET status = 'dead', attempts = 4, counted_attempts = 4, last_error_code = $2, last_error = $3,
                         updated_at = now()
     WHERE id = $1`,
    [id, errorCode, error],
  )
}
const statusOf = async (id: string) => (await db.sql('SELECT status FROM sms_outbox.messages WHERE id = $1', [id]))[0].status as string

const dead1030a = await enqueue(db, { to: NUMBER })
const dead1030b = await enqueue(db, { to: OTHER_NUMBER })
const dead503 = await enqueue(db, { to: NUMBER })
const sent = await enqueue(db, { to: NUMBER })
const pending = await enqueue(db, { to: OTHER_NUMBER })
const expired = await enqueue(db, { to: NUMBER })
await markDead(dead1030a, '1030', 'invalid recipient')
await markDead(dead1030b, '1030', 'invalid recipient')
await markDead(dead503, 'http_503', 'service unavailable\nafter the request was sent, retried until the budget ran out')
await db.sql(`UPDATE sms_outbox.messages SET status = 'sent', attempts = 1, counted_attempts = 1, sent_at = now() WHERE id = $1`, [sent])
await db.sql(`UPDATE sms_outbox.messages SET status = 'expired', last_error_code = 'expired' WHERE id = $1`, [expired])
const deadIds = [dead1030a, dead1030b, dead503]

t.test('migrate on a migrated database applies nothing', async (t) => {
  const run = await cli('migrate')
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /no pending migrations/)
})

t.test('list --status dead: exactly the dead messages, numbers masked', async (t) => {
  const run = await cli('list', '--status', 'dead')
  t.equal(run.code, 0, run.stderr)
  const lines = run.stdout.trimEnd().split('\n')
  t.match(lines[0], /^ID\s+CREATED\s+STATUS\s+TO\s+ATTEMPTS\s+ERROR CODE\s+LAST ERROR$/)
  const listed = lines.slice(1).map((line) => line.split(/\s+/)[0])
  t.same(listed.sort(), [...deadIds].sort())
  t.ok(lines.slice(1).every((line) => / dead /.test(line)))
  t.match(run.stdout, /\+82 10-\*\*\*\*-5678/)
  t.match(run.stdout, /\+82 10-\*\*\*\*-6789/)
  t.same(leaks(run.stdout + run.stderr), [], 'no full number anywhere in the output')
  // The multi-line error is one table line, cut short.
  t.match(lines.find((line) => line.startsWith(dead503))!, /http_503\s+service unavailable after the request .*…$/)
})

t.test('list filters by error code and by number, as the admin API does', async (t) => {
  // Read-only, so run together: each process spends most of its time starting.
  const [byCode, byNumber, none, limited] = await Promise.all([
    cli('list', '--status', 'dead', '--error-code', 'http_503'),
    cli('list', '--to', OTHER_NUMBER),
    cli('list', '--status', 'canceled'),
    cli('list', '--limit', '2'),
  ])
  t.same(idsIn(byCode.stdout), [dead503])
  t.same(idsIn(byNumber.stdout).sort(), [dead1030b, pending].sort())
  t.equal(none.code, 0)
  t.match(none.stdout, /no messages match/)
  t.equal(idsIn(limited.stdout).length, 2)
  t.match(limited.stderr, /more than 2/)
})

t.test('list --json: one parseable, masked message per line', async (t) => {
  const run = await cli('list', '--json')
  t.equal(run.code, 0, run.stderr)
  const messages = run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line))
  t.equal(messages.length, 6)
  t.same(messages.map((message) => message.id).sort(), [...deadIds, sent, pending, expired].sort())
  t.ok(messages.every((message) => /^\+82 10-\*{4}-\d{4}$/.test(message.to)))
  t.match(messages.find((message) => message.id === dead1030a), { status: 'dead', lastErrorCode: '1030', attempts: 4 })
  t.same(leaks(run.stdout), [])
})

t.test('stats: counts by status, dead by error code, per hour', async (t) => {
  const run = await cli('stats')
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /^\s+dead\s+3$/m)
  t.match(run.stdout, /^\s+pending\s+1$/m)
  t.match(run.stdout, /^\s+sent\s+1$/m)
  t.match(run.stdout, /^\s+1030\s+2$/m)
  t.match(run.stdout, /^\s+http_503\s+1$/m)
  t.match(run.stdout, /^\s+\d{4}-\d{2}-\d{2} \d{2}:00Z\s+6\s+1\s+3$/m, 'this hour: 6 accepted, 1 sent, 3 dead')
  const json = JSON.parse((await cli('stats', '--json')).stdout)
  t.same(json.byStatus, { dead: 3, expired: 1, pending: 1, sent: 1 })
})

t.test('retry <id>: back to pending, recorded as done by cli:<user>; again is unchanged', async (t) => {
  const first = await cli('retry', dead1030a)
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, `retried ${dead1030a}`)
  const [row] = await db.sql('SELECT status, counted_attempts FROM sms_outbox.messages WHERE id = $1', [dead1030a])
  t.same(row, { status: 'pending', counted_attempts: 0 })
  const actions = await db.sql('SELECT actor, action, detail FROM sms_outbox.admin_actions WHERE message_id = $1', [dead1030a])
  t.equal(actions.length, 1)
  t.match(actions[0], { actor: /^cli:.+/, action: 'retry', detail: { from: 'dead', bulk: false } })

  const second = await cli('retry', dead1030a)
  t.equal(second.code, 0, second.stderr)
  t.match(second.stdout, `unchanged: ${dead1030a} is pending already`)
  t.equal((await db.sql('SELECT count(*)::int AS n FROM sms_outbox.admin_actions WHERE message_id = $1', [dead1030a]))[0].n, 1)
})

t.test('retry <id> of a sent message or an unknown id: exit 1 with the reason', async (t) => {
  const ofSent = await cli('retry', sent)
  t.equal(ofSent.code, 1)
  t.match(ofSent.stderr, `not retryable: ${sent}: a sent message is not sent again`)
  t.equal(await statusOf(sent), 'sent')
  const unknown = randomUUID()
  const ofUnknown = await cli('retry', unknown)
  t.equal(ofUnknown.code, 1)
  t.match(ofUnknown.stderr, `not found: no message ${unknown}`)
})

t.test('retry --status dead: --dry-run counts and changes nothing; then retries them', async (t) => {
  const dryRun = await cli('retry', '--status', 'dead', '--dry-run')
  t.equal(dryRun.code, 0, dryRun.stderr)
  t.match(dryRun.stdout, /would retry 2 messages; nothing changed/)
  t.equal(await statusOf(dead1030b), 'dead')
  t.equal(await statusOf(dead503), 'dead')

  const byCode = await cli('retry', '--status', 'dead', '--error-code', 'http_503')
  t.match(byCode.stdout, /retried 1 message$/m)
  t.equal(await statusOf(dead503), 'pending')
  t.equal(await statusOf(dead1030b), 'dead', 'the filter held')

  const rest = await cli('retry', '--status', 'dead')
  t.equal(rest.code, 0, rest.stderr)
  t.match(rest.stdout, /retried 1 message$/m)
  t.equal(await statusOf(dead1030b), 'pending')
  t.equal(await statusOf(expired), 'expired', 'expired was not asked for')
  const actors = await db.sql(`SELECT DISTINCT actor FROM sms_outbox.admin_actions WHERE detail->>'bulk' = 'true'`)
  t.match(actors, [{ actor: /^cli:/ }])
})

t.test('suppressions lists the suppression list masked; unsuppress takes a number off it, recorded', async (t) => {
  const empty = await cli('suppressions')
  t.equal(empty.code, 0, empty.stderr)
  t.match(empty.stdout, /the suppression list is empty/)
  await db.sql(
    `INSERT INTO sms_outbox.suppressions (recipient, reason, error_code, provider, message_id, created_at)
     VALUES ('+821012345678', 'opted_out', '21610', 'twilio', $1, now() - interval '1 minute'),
            ('+821023456789', 'invalid_number', NULL, NULL, NULL, now())`,
    [dead1030a],
  )
  const [table, json, one, limited] = await Promise.all([
    cli('suppressions'),
    cli('suppressions', '--json'),
    cli('suppressions', '--to', NUMBER),
    cli('suppressions', '--limit', '1'),
  ])
  t.equal(table.code, 0, table.stderr)
  const lines = table.stdout.trimEnd().split('\n')
  t.match(lines[0], /^SINCE\s+TO\s+REASON\s+ERROR CODE\s+PROVIDER\s+MESSAGE$/)
  t.match(lines[1], /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z\s+\+82 10-\*\*\*\*-6789\s+invalid_number\s+-\s+-\s+\(added by an admin\)$/)
  t.match(lines[2], new RegExp(`\\+82 10-\\*{4}-5678\\s+opted_out\\s+21610\\s+twilio\\s+${dead1030a}$`))
  t.equal(lines.length, 3)
  t.same(leaks(table.stdout + json.stdout + one.stdout + limited.stdout), [], 'no full number anywhere')
  t.match(json.stdout.trimEnd().split('\n').map((line) => JSON.parse(line)), [
    { to: '+82 10-****-6789', reason: 'invalid_number', errorCode: null },
    { to: '+82 10-****-5678', reason: 'opted_out', errorCode: '21610', provider: 'twilio', messageId: dead1030a },
  ])
  t.equal(one.stdout.trimEnd().split('\n').length, 2, 'the header and the one number')
  t.match(one.stdout, /opted_out/)
  t.equal(limited.stdout.trimEnd().split('\n').length, 2)
  t.match(limited.stderr, /more than 1/)

  const removed = await cli('unsuppress', NUMBER)
  t.equal(removed.code, 0, removed.stderr)
  t.match(removed.stdout, /^removed \+82 10-\*{4}-5678 \(opted_out since .*\): messages to it are accepted again$/m)
  t.same(await db.sql(`SELECT recipient FROM sms_outbox.suppressions ORDER BY recipient`), [{ recipient: '+821023456789' }])
  t.match(await db.sql(`SELECT actor, action, recipient, detail FROM sms_outbox.admin_actions WHERE action = 'unsuppress'`), [
    { actor: /^cli:.+/, action: 'unsuppress', recipient: '+821012345678', detail: { to: '+82 10-****-5678', reason: 'opted_out' } },
  ])
  const again = await cli('unsuppress', '+821012345678')
  t.equal(again.code, 1)
  t.match(again.stderr, 'not suppressed: +82 10-****-5678 is not on the suppression list')
  t.same(leaks(removed.stdout + removed.stderr + again.stdout + again.stderr), [])

  const usage = await Promise.all([cli('unsuppress'), cli('unsuppress', '12345'), cli('suppressions', '--limit', '0')])
  t.same(usage.map((run) => run.code), [2, 2, 2])
  t.match(usage[0].stderr, /give the number to take off the suppression list/)
  t.match(usage[1].stderr, /<number>: .*not a valid phone number/)
  t.match(usage[2].stderr, /--limit must be a whole number/)
})

t.test('a wrong command line: usage on stderr, exit 2; --help: usage, exit 0', async (t) => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /unknown command "frobnicate"[\s\S]*Usage: sms-outbox \[command\]/],
    [['--frobnicate'], /unknown option "--frobnicate"/],
    [['list', '--frobnicate'], /unknown option "--frobnicate"[\s\S]*Usage: sms-outbox list/],
    [['list', '--limit', 'many'], /--limit must be a whole number/],
    [['list', '--to', '12345'], /--to: .*not a valid phone number/],
    [['list', '--since', 'yesterday'], /--since: "yesterday" is not a date/],
    [['retry'], /give a message id, or --status dead/],
    [['retry', 'not-an-id'], /"not-an-id" is not a message id/],
    [['retry', '--status', 'sent'], /only dead and expired messages can be retried/],
    [['retry', dead1030b, '--status', 'dead'], /a message id or filter options, not both/],
    [['stats', 'now'], /unexpected argument "now"/],
  ]
  const runs = await Promise.all(cases.map(([args]) => cli(...args)))
  for (const [index, [args, message]] of cases.entries()) {
    const run = runs[index]
    t.equal(run.code, 2, args.join(' '))
    t.match(run.stderr, message, args.join(' '))
    t.equal(run.stdout, '', args.join(' '))
  }
  t.equal(await statusOf(dead1030b), 'pending', 'nothing ran')

  const help = await cli('--help')
  t.equal(help.code, 0)
  t.match(help.stdout, /Usage: sms-outbox[\s\S]*migrate[\s\S]*list[\s\S]*retry[\s\S]*stats/)
  const listHelp = await cli('list', '--help')
  t.equal(listHelp.code, 0)
  t.match(listHelp.stdout, /Usage: sms-outbox list[\s\S]*--error-code/)
})

t.test('a bad setting stops the command with the service\'s message, exit 1', async (t) => {
  const run = await runCli(['list'], { ...env, ROLE: 'boss' })
  t.equal(run.code, 1)
  t.match(run.stderr, 'invalid configuration: ROLE must be one of api, worker, all (got "boss")')
})

t.test('runs through a symlink, as npm links it into node_modules/.bin, from another directory', async (t) => {
  const elsewhere = mkdtempSync(join(tmpdir(), 'sms-outbox-cli-link-'))
  t.teardown(() => rmSync(elsewhere, { recursive: true, force: true }))
  const link = join(elsewhere, 'node_modules', '.bin', 'sms-outbox')
  mkdirSync(dirname(link), { recursive: true })
  symlinkSync(CLI_BIN, link)
  const path = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`
  const run = await runCli(['list', '--status', 'expired'], { ...env, PATH: path }, { executable: link, cwd: elsewhere })
  t.equal(run.code, 0, run.stderr)
  t.same(idsIn(run.stdout), [expired])
})

t.test('without DATABASE_URL: the embedded database in DATA_DIR', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sms-outbox-cli-data-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const { DATABASE_URL: _unused, ...embeddedEnv } = env
  const embeddedCli = (...args: string[]) => runCli(args, { ...embeddedEnv, DATA_DIR: dataDir })
  const serverLeft = () => existsSync(join(dataDir, 'postmaster.pid')) || processesMentioning(dataDir).length > 0

  // Nothing runs on it: the command starts a server for itself and stops it after.
  const migrate = await embeddedCli('migrate')
  t.equal(migrate.code, 0, migrate.stderr)
  // Every migration folder, whatever their number, the newest included.
  t.match(migrate.stdout, /applied \d+ migrations:\n  20261129000000_outbox\n[\s\S]*  20261129210000_suppressions\n/)
  t.match(migrate.stderr, /no database in .* yet: creating one/)
  t.notOk(serverLeft(), 'the server it started is stopped')

  // A server runs on it (as under `npm start`): the command uses that one and leaves it running.
  const server = await startEmbeddedPostgres({ dataDir })
  let stopped = false
  t.teardown(() => (stopped ? undefined : server.stop()))
  const client = new pg.Client({ connectionString: server.url() })
  await client.connect()
  await client.query(
    `INSERT INTO sms_outbox.messages (recipient, body, type, bytes, max_retries, expires_at)
     VALUES ('+821012345678', 'hello', 'SMS', 5, 3, now() + interval '1 day')`,
  )
  await client.end()
  const listed = await embeddedCli('list')
  t.equal(listed.code, 0, listed.stderr)
  t.match(listed.stdout, /pending\s+\+82 10-\*\*\*\*-5678/)
  t.doesNotThrow(() => process.kill(server.pid, 0), 'the running server still runs')
  await server.stop()
  stopped = true

  // And once more on its own, on the data that server left.
  const again = await embeddedCli('list', '--json')
  t.equal(again.code, 0, again.stderr)
  t.equal(again.stdout.trim().split('\n').length, 1)
  t.notOk(serverLeft(), 'the server it started is stopped')
})

function idsIn(table: string): string[] {
  return [...table.matchAll(/^([0-9a-f-]{36})\s/gm)].map((match) => match[1])
}
