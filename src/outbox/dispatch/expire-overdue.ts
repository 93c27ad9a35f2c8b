import { sql, type Connection } from '../../db/sql-statement.ts'

/** A message that ran out of time unsent. */
export interface ExpiredMessage {
  id: string
  to: string
}

/**
 * Moves pending rows past their `expires_at` to `expired`: they are never sent. Claims
 * skip such rows, so this is the one place where messages expire, whether the provider
 * is healthy, paused or failing. Rows are found through the due indexes (first attempts
 * and retries, up to `limit` of each): a retry is never scheduled past `expires_at`, so
 * an overdue row is also due.
 */
export async function expireOverdue(db: Connection, { limit }: { limit: number }): Promise<ExpiredMessage[]> {
  const { rows } = await db.query<ExpiredMessage>(...sql`
    WITH overdue_first_attempts AS (
      SELECT id FROM sms_outbox.messages
      WHERE status = 'pending' AND counted_attempts = 0 AND next_attempt_at <= now() AND expires_at <= now()
      ORDER BY next_attempt_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ), overdue_retries AS (
      SELECT id FROM sms_outbox.messages
      WHERE status = 'pending' AND counted_attempts > 0 AND next_attempt_at <= now() AND expires_at <= now()
      ORDER BY next_attempt_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ), overdue AS (
      SELECT id FROM overdue_first_attempts UNION ALL SELECT id FROM overdue_retries
    )
    UPDATE sms_outbox.messages m
    SET status = 'expired', updated_at = now(), last_error_code = 'expired',
        last_error = 'not sent before expires_at'
    WHERE m.id = ANY (ARRAY(SELECT id FROM overdue))
    RETURNING m.id, m.recipient AS "to"`)
  return rows
}
