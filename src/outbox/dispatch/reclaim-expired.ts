import { sql, type Connection } from '../../db/sql-statement.ts'

/** A message taken back from a dispatcher that went quiet. */
export interface ReclaimedMessage {
  id: string
  to: string
  status: 'pending' | 'dead'
  /** The provider of the call that never reported back. */
  provider: string
}

/**
 * Takes back up to `limit` rows whose lease ran out: their dispatcher died or hung
 * mid-call, so the SMS may or may not have gone out. The interrupted attempt is
 * written to the ledger as `ambiguous`; the row is due again at once (the lease already
 * outlasted any backoff step worth waiting), or dead if that was its last attempt.
 */
export async function reclaimExpired(db: Connection, { limit }: { limit: number }): Promise<ReclaimedMessage[]> {
  const { rows } = await db.query<ReclaimedMessage>(...sql`
    WITH stale AS (
      -- The claim set updated_at; the interrupted call started then or a little later.
      SELECT id, updated_at AS claimed_at FROM sms_outbox.messages
      WHERE status = 'sending' AND locked_until < now()
      ORDER BY locked_until
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ), reclaimed AS (
      UPDATE sms_outbox.messages m
      SET status = CASE WHEN m.counted_attempts > m.max_retries THEN 'dead' ELSE 'pending' END,
          next_attempt_at = least(now(), m.expires_at), lease_token = NULL, locked_until = NULL, updated_at = now(),
          last_error_code = 'lease_expired',
          last_error = 'the dispatcher stopped answering mid-call; the SMS may have been sent'
      FROM stale WHERE m.id = stale.id
      RETURNING m.id, m.recipient, m.status, m.provider, m.attempts, stale.claimed_at
    ), recorded AS (
      INSERT INTO sms_outbox.message_attempts (message_id, attempt, started_at, finished_at, outcome, error_code, error_message)
      SELECT id, attempts, claimed_at, now(), 'ambiguous', 'lease_expired', 'no outcome recorded before the lease ended'
      FROM reclaimed
      -- The row is there already only where an earlier sms-outbox opened it at the claim.
      ON CONFLICT (message_id, attempt) DO UPDATE
      SET finished_at = EXCLUDED.finished_at, outcome = EXCLUDED.outcome, error_code = EXCLUDED.error_code,
          error_message = EXCLUDED.error_message
      WHERE message_attempts.outcome IS NULL
    )
    SELECT id, recipient AS "to", status, provider FROM reclaimed`)
  return rows
}
