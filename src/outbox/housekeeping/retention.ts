import { sql, type Connection } from '../../db/sql-statement.ts'

/** One batch of a housekeeping statement: how many rows, and the last change it reached. */
export interface HousekeepingBatch {
  count: number
  /** The `updated_at` of the newest row in the batch; null when it took none. */
  through: Date | null
}

/**
 * Erases, in up to `limit` terminal messages whose last change is more than
 * `retentionHours` ago (fractions allowed), everything a person could be found by: the
 * number, the text, the metadata, the request fingerprint, the last error's text, and the
 * error text of each attempt. Status, error codes, provider ids, counts and timestamps
 * stay, so statistics survive; the idempotency key is stored only as a hash
 * (src/outbox/enqueue/idempotency-key.ts) and stays, so replays still deduplicate. A row that is
 * not terminal is never touched, whatever its age.
 *
 * Rows are taken oldest change first from `after` on (null: from the first): a run
 * passes the previous batch's `through`, so that no batch walks again over the index
 * entries of the rows the batches before it erased (they stay in the index until vacuum).
 */
export async function eraseOldPersonalData(
  db: Connection,
  { retentionHours, limit, after = null }: { retentionHours: number; limit: number; after?: Date | null },
): Promise<HousekeepingBatch> {
  // The literal status list matches the partial index messages_retention_due_idx. Ids go
  // on as arrays, so that each UPDATE probes its primary key (see pruneTerminalMessages).
  const { rows } = await db.query<HousekeepingBatch>(...sql`
    WITH due AS (
      SELECT id FROM sms_outbox.messages
      WHERE status IN ('sent', 'dead', 'expired', 'canceled') AND erased_at IS NULL
        AND updated_at >= coalesce(${after}::timestamptz, '-infinity')
        AND updated_at < now() - make_interval(secs => ${retentionHours}::float8 * 3600)
      ORDER BY updated_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ), erased AS (
      UPDATE sms_outbox.messages
      SET recipient = NULL, body = NULL, metadata = NULL, request_hash = NULL, last_error = NULL, erased_at = now()
      WHERE id = ANY(ARRAY(SELECT id FROM due))
      RETURNING id, updated_at
    ), attempts AS (
      UPDATE sms_outbox.message_attempts SET error_message = NULL
      WHERE message_id = ANY(ARRAY(SELECT id FROM erased)) AND error_message IS NOT NULL
    )
    SELECT count(*)::int AS count, max(updated_at) AS through FROM erased`)
  return rows[0]
}

/**
 * Erases the number from admin actions on the suppression list (suppress, unsuppress)
 * older than `retentionHours`; their `detail` keeps the masked number. The suppression
 * list itself is never erased: it holds numbers on purpose, until an admin removes them,
 * since forgetting an opt-out would text someone who said STOP. Returns how many it erased.
 */
export async function eraseOldAdminActionNumbers(
  db: Connection,
  { retentionHours }: { retentionHours: number },
): Promise<number> {
  // Admin actions are few (people clicking), so one statement takes them all.
  const { rowCount } = await db.query(...sql`
    UPDATE sms_outbox.admin_actions SET recipient = NULL
    WHERE recipient IS NOT NULL AND at < now() - make_interval(secs => ${retentionHours}::float8 * 3600)`)
  return rowCount ?? 0
}

/**
 * Deletes admin sessions past their expiry and failed logins older than the login limit's
 * minute. Logins clean up after themselves, but a page nobody logs in to again would keep
 * its client addresses forever. Both tables are small: one statement each.
 */
export async function dropStaleAdminRows(db: Connection): Promise<number> {
  const sessions = await db.query('DELETE FROM sms_outbox.admin_sessions WHERE expires_at <= now()')
  const failures = await db.query(`DELETE FROM sms_outbox.admin_login_failures WHERE failed_at < now() - interval '1 minute'`)
  return (sessions.rowCount ?? 0) + (failures.rowCount ?? 0)
}
