import { sql, type Connection } from '../../db/sql-statement.ts'
import type { HousekeepingBatch } from './retention.ts'

/**
 * Deletes up to `limit` terminal messages (sent, dead, expired, canceled) whose last
 * change is more than `pruneAfterHours` ago (fractions allowed), with their attempts and
 * admin actions (ON DELETE CASCADE); a suppression that names one keeps the number and
 * loses the link (ON DELETE SET NULL). Their idempotency keys are free again. Pending and
 * sending rows are never deleted, whatever their age, and neither is a row another
 * worker holds (SKIP LOCKED): two pruners share the work instead of waiting on each other.
 *
 * Rows go oldest change first from `after` on (null: from the first): a run passes the
 * previous batch's `through`, so that no batch walks again over the index entries of the
 * rows the batches before it deleted (they stay in the index until vacuum, and a run may
 * delete millions: without the cursor the run's cost would grow with its square).
 */
export async function pruneTerminalMessages(
  db: Connection,
  { pruneAfterHours, limit, after = null }: { pruneAfterHours: number; limit: number; after?: Date | null },
): Promise<HousekeepingBatch> {
  // The literal status list matches the partial index messages_prune_due_idx. The ids go
  // to the DELETE as an array: joined to the CTE instead, the planner read the whole table
  // (a hash join) for each batch of 1,000 once it held 200,000 rows. FOR UPDATE
  // re-reads a row changed since the statement began (an admin retry of a dead message)
  // and skips it unless it is still terminal and old.
  const { rows } = await db.query<HousekeepingBatch>(...sql`
    WITH doomed AS (
      SELECT id FROM sms_outbox.messages
      WHERE status IN ('sent', 'dead', 'expired', 'canceled')
        AND updated_at >= coalesce(${after}::timestamptz, '-infinity')
        AND updated_at < now() - make_interval(secs => ${pruneAfterHours}::float8 * 3600)
      ORDER BY updated_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ), pruned AS (
      DELETE FROM sms_outbox.messages WHERE id = ANY(ARRAY(SELECT id FROM doomed))
      RETURNING updated_at
    )
    SELECT count(*)::int AS count, max(updated_at) AS through FROM pruned`)
  return rows[0]
}

