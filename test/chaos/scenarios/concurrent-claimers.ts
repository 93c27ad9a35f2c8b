import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { round, type Scenario } from '../scenario.ts'

const CLAIMER = fileURLToPath(new URL('../claimer-process.ts', import.meta.url))

interface ClaimerReport {
  claims: number
  rows: number
  largest: number
  limit: number
  released: number
}

/**
 * 4. Four claimer processes, batch 100, over 200k rows, every other one dated an hour
 * ahead (they sit in the same due index, and must never be taken). No row
 * held under two live leases (every attempt starts after the previous one ended), no claim
 * larger than its LIMIT, attempts rising by exactly 1 per claim (numbered 1..n without a
 * gap, and the claimers' own counts add up to them), future rows never touched.
 */
export const concurrentClaimers: Scenario = {
  id: 4,
  name: 'concurrent claimers',
  quick: false,
  timeoutMs: 180_000,
  async run(ctx) {
    const count = ctx.quick ? 20_000 : 200_000
    await ctx.pool.query(
      `INSERT INTO sms_outbox.messages (recipient, body, type, bytes, max_retries, expires_at, next_attempt_at)
       SELECT '+8210' || (10000000 + i), 'claim ' || i, 'SMS', 10, 3, now() + interval '1 day',
              CASE WHEN i % 2 = 0 THEN now() + interval '1 hour' ELSE now() END
       FROM generate_series(1, $1::int) AS i`,
      [count],
    )
    const started = performance.now()
    const reports = await Promise.all(
      [1, 2, 3, 4].map(
        (n) =>
          new Promise<ClaimerReport>((done, fail) => {
            const child = spawn(process.execPath, ['--import', 'tsx', CLAIMER], {
              env: { ...process.env, DATABASE_URL: ctx.databaseUrl, CLAIM_LIMIT: '100' },
              stdio: ['ignore', 'pipe', 'inherit'],
            })
            ctx.onCleanup(() => child.exitCode === null && child.kill('SIGKILL'))
            let output = ''
            child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
            child.once('exit', (code) => (code === 0 ? done(JSON.parse(output) as ClaimerReport) : fail(new Error(`claimer ${n} exited ${code}`))))
          }),
      ),
    )
    const seconds = (performance.now() - started) / 1000
    const { rows: [db] } = await ctx.pool.query<{
      attempts: number
      attempt_rows: number
      gapped: number
      overlapping: number
      future_touched: number
      future: number
      open: number
    }>(`
      WITH per AS (
        SELECT message_id, count(*)::int AS n, max(attempt) AS top FROM sms_outbox.message_attempts GROUP BY message_id
      ), ordered AS (
        SELECT started_at, lag(finished_at) OVER (PARTITION BY message_id ORDER BY attempt) AS previous_end
        FROM sms_outbox.message_attempts
      )
      SELECT (SELECT sum(attempts)::int FROM sms_outbox.messages) AS attempts,
             (SELECT count(*)::int FROM sms_outbox.message_attempts) AS attempt_rows,
             (SELECT count(*)::int FROM per WHERE n <> top) AS gapped,
             (SELECT count(*)::int FROM ordered WHERE previous_end IS NOT NULL AND started_at < previous_end) AS overlapping,
             (SELECT count(*)::int FROM sms_outbox.messages WHERE next_attempt_at > now() + interval '30 minutes' AND attempts > 0) AS future_touched,
             (SELECT count(*)::int FROM sms_outbox.messages WHERE next_attempt_at > now() + interval '30 minutes') AS future,
             (SELECT count(*)::int FROM sms_outbox.messages WHERE status IN ('pending', 'sending') AND next_attempt_at <= now()) AS open`)
    const claimedRows = reports.reduce((sum, r) => sum + r.rows, 0)
    const claims = reports.reduce((sum, r) => sum + r.claims, 0)
    ctx.expect('no claim returned more than its LIMIT', reports.every((r) => r.largest <= r.limit), reports)
    ctx.expect('no row under two live leases', db.overlapping === 0, db)
    ctx.expect('attempts rise by exactly 1 per claim', db.gapped === 0 && db.attempts === claimedRows && db.attempt_rows === claimedRows, { db, claimedRows })
    ctx.expect('every claimed row given back', reports.reduce((sum, r) => sum + r.released, 0) === claimedRows)
    ctx.expect('future rows never claimed', db.future_touched === 0 && db.future === count / 2, db)
    ctx.expect('every due row done', db.open === 0, db)
    return {
      rows: count,
      claimers: 4,
      limit: 100,
      claims,
      rows_claimed: claimedRows,
      claims_per_second: round(claims / seconds, 0),
      largest_claim: Math.max(...reports.map((r) => r.largest)),
      future_rows: db.future,
    }
  },
}
