import t from 'tap'
import { runCli } from '../helpers/cli-process.ts'
import { enqueue } from '../helpers/outbox-fixture.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

// Apart from cli.test.ts, which is long already: each file runs in a process of its own.
const db = await createTestDatabase(t)
const env = { ...process.env, DATABASE_URL: db.url }
const cli = (...args: string[]) => runCli(args, env)

t.test('suppress puts a number on the list, cancels its pending messages at once and says how many', async (t) => {
  const THIRD = { to: '010-3456-7890', e164: '+821034567890' }
  const waiting = await enqueue(db, { to: THIRD.to })
  const scheduled = await enqueue(db, { to: THIRD.to, sendAt: new Date(Date.now() + 3_600_000).toISOString() })
  const beingSent = await enqueue(db, { to: THIRD.to })
  await db.sql(
    `UPDATE sms_outbox.messages SET status = 'sending', attempts = 1, counted_attempts = 1, lease_token = gen_random_uuid(),
                         locked_until = now() + interval '1 minute'
     WHERE id = $1`,
    [beingSent],
  )
  const run = await cli('suppress', THIRD.to)
  t.equal(run.code, 0, run.stderr)
  t.equal(run.stdout.trim(), 'suppressed +82 10-****-7890 (opted_out); 2 pending messages canceled')
  t.same(
    await db.sql(`SELECT status, last_error_code FROM sms_outbox.messages WHERE id = ANY($1) ORDER BY array_position($1, id)`, [
      [waiting, scheduled, beingSent],
    ]),
    [
      { status: 'canceled', last_error_code: 'RECIPIENT_SUPPRESSED' },
      { status: 'canceled', last_error_code: 'RECIPIENT_SUPPRESSED' },
      { status: 'sending', last_error_code: null },
    ],
    'pending and scheduled canceled; the one being sent is left to its lease',
  )
  t.match(await db.sql(`SELECT actor, action, recipient FROM sms_outbox.admin_actions WHERE action = 'suppress'`), [
    { actor: /^cli:.+/, action: 'suppress', recipient: THIRD.e164 },
  ])
  const [again, usage] = await Promise.all([
    cli('suppress', THIRD.e164, '--reason', 'invalid_number'),
    cli('suppress', THIRD.to, '--reason', 'rude'),
  ])
  t.equal(again.code, 0, again.stderr)
  t.match(again.stdout, /^\+82 10-\*{4}-7890 was already suppressed \(opted_out since .*\); 0 pending messages canceled$/m)
  t.notMatch(run.stdout + again.stdout, /34567890|3456-7890/, 'the number is masked')
  t.equal(usage.code, 2)
  t.match(usage.stderr, /--reason must be one of/)
})
