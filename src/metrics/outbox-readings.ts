import type { Connection } from '../db/sql-statement.ts'

/**
 * The next_attempt_at of every pending message that is due: two scans, one per due index
 * (messages_first_attempts_due_idx, messages_retries_due_idx), whose predicates these
 * conditions repeat, so only the due part of the indexes is read however many sent rows
 * the table holds.
 */
export const DUE_MESSAGES = `
  SELECT next_attempt_at FROM sms_outbox.messages
  WHERE status = 'pending' AND counted_attempts = 0 AND next_attempt_at <= now()
  UNION ALL
  SELECT next_attempt_at FROM sms_outbox.messages
  WHERE status = 'pending' AND counted_attempts > 0 AND next_attempt_at <= now()`

/** Rows per status. Reads the whole table: callers must not run it on every scrape. */
export async function countMessagesByStatus(db: Connection): Promise<Map<string, number>> {
  const { rows } = await db.query<{ status: string; count: number }>(
    'SELECT status, count(*)::int AS count FROM sms_outbox.messages GROUP BY status',
  )
  return new Map(rows.map((row) => [row.status, row.count]))
}

export interface DueBacklog {
  /** pending rows whose next_attempt_at has come */
  due: number
  /** how long the longest-waiting due row has been due; 0 when none is */
  oldestDueAgeSeconds: number
}

/**
 * The rows dispatchers should be sending now (DUE_MESSAGES: the due part of the two due
 * indexes only). The age comes from the database clock, like every deadline in the outbox.
 */
export async function readDueBacklog(db: Connection): Promise<DueBacklog> {
  const { rows } = await db.query<{ due: number; oldest_due_age_seconds: number }>(`
    WITH due AS (${DUE_MESSAGES})
    SELECT count(*)::int AS due,
           coalesce(extract(epoch FROM now() - min(next_attempt_at)), 0)::float8 AS oldest_due_age_seconds
    FROM due`)
  const [row] = rows
  return { due: row.due, oldestDueAgeSeconds: row.oldest_due_age_seconds }
}

/**
 * How long the oldest transaction in this database that holds back cleanup has been open:
 * one that holds a snapshot (a long query, a REPEATABLE READ transaction) or a transaction
 * id, in any session but this one; 0 when there is none (a statement that began after this
 * one's reads as 0 too). While it is open, PostgreSQL keeps every row version it might
 * still see: the outbox's claimed and sent versions pile up, and each claim steps over
 * them (chaos scenario 20). Sessions of other roles are visible only to a superuser or a
 * member of pg_read_all_stats.
 */
export async function readOldestTransactionAge(db: Connection): Promise<number> {
  const { rows } = await db.query<{ seconds: number }>(`
    SELECT greatest(extract(epoch FROM now() - min(xact_start)), 0)::float8 AS seconds
    FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)`)
  return rows[0].seconds
}
