import type { PrismaClient } from '../db/database.ts'

/** Rows per status. Reads the whole table: callers must not run it on every scrape. */
export async function countMessagesByStatus(prisma: PrismaClient): Promise<Map<string, number>> {
  const rows = await prisma.$queryRaw<{ status: string; count: number }[]>`
    SELECT status, count(*)::int AS count FROM messages GROUP BY status`
  return new Map(rows.map((row) => [row.status, row.count]))
}

export interface DueBacklog {
  /** pending rows whose next_attempt_at has come */
  due: number
  /** how long the longest-waiting due row has been due; 0 when none is */
  oldestDueAgeSeconds: number
}

/**
 * The rows dispatchers should be sending now. The WHERE clause matches the partial index
 * messages_due_idx (next_attempt_at WHERE status = 'pending'), so this reads only the due
 * part of the index however many sent rows the table holds. The age comes from the
 * database clock, like every deadline in the outbox.
 */
export async function readDueBacklog(prisma: PrismaClient): Promise<DueBacklog> {
  const [row] = await prisma.$queryRaw<{ due: number; oldest_due_age_seconds: number }[]>`
    SELECT count(*)::int AS due,
           coalesce(extract(epoch FROM now() - min(next_attempt_at)), 0)::float8 AS oldest_due_age_seconds
    FROM messages
    WHERE status = 'pending' AND next_attempt_at <= now()`
  return { due: row.due, oldestDueAgeSeconds: row.oldest_due_age_seconds }
}
