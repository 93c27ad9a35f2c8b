import type { PrismaClient } from '../db/database.ts'

export interface OutboxStats {
  /**
   * Every count below comes from the rows still in the table: a terminal message whose
   * last change is before this was pruned (PRUNE_AFTER_HOURS) and is counted nowhere.
   * Null when nothing is pruned.
   */
  prunedBefore: Date | null
  byStatus: Record<string, number>
  /** Dead in the last 24 hours, by last error code, most frequent first. */
  deadByErrorCode: { errorCode: string; count: number }[]
  /** The last 24 hours, oldest hour first: accepted, sent and dead (by when they died). */
  perHour: { hour: Date; created: number; sent: number; dead: number }[]
}

/**
 * What the admin page's header and `sms-outbox stats` show. Counting by status reads the
 * whole table, which is fine for an admin asking now and then, not for every request.
 */
export async function outboxStats(prisma: PrismaClient, { pruneAfterHours }: { pruneAfterHours: number }): Promise<OutboxStats> {
  // From the database's clock, as the pruner computes it.
  const [{ prunedBefore }] = await prisma.$queryRaw<{ prunedBefore: Date | null }[]>`
    SELECT CASE WHEN ${pruneAfterHours}::float8 > 0
                THEN now() - make_interval(secs => ${pruneAfterHours}::float8 * 3600) END AS "prunedBefore"`
  const byStatus = await prisma.$queryRaw<{ status: string; count: number }[]>`
    SELECT status, count(*)::int AS count FROM sms_outbox.messages GROUP BY status ORDER BY status`
  const deadByErrorCode = await prisma.$queryRaw<{ errorCode: string; count: number }[]>`
    SELECT coalesce(last_error_code, 'unknown') AS "errorCode", count(*)::int AS count
    FROM sms_outbox.messages WHERE status = 'dead' AND updated_at >= now() - interval '24 hours'
    GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20`
  const perHour = await prisma.$queryRaw<OutboxStats['perHour']>`
    WITH hours AS (
      SELECT generate_series(date_trunc('hour', now()) - interval '23 hours', date_trunc('hour', now()),
                             interval '1 hour') AS hour
    ), created AS (
      SELECT date_trunc('hour', created_at) AS hour, count(*)::int AS n FROM sms_outbox.messages
      WHERE created_at >= date_trunc('hour', now()) - interval '23 hours' GROUP BY 1
    ), sent AS (
      SELECT date_trunc('hour', sent_at) AS hour, count(*)::int AS n FROM sms_outbox.messages
      WHERE sent_at >= date_trunc('hour', now()) - interval '23 hours' GROUP BY 1
    ), dead AS (
      SELECT date_trunc('hour', updated_at) AS hour, count(*)::int AS n FROM sms_outbox.messages
      WHERE status = 'dead' AND updated_at >= date_trunc('hour', now()) - interval '23 hours' GROUP BY 1
    )
    SELECT hours.hour, coalesce(created.n, 0) AS created, coalesce(sent.n, 0) AS sent, coalesce(dead.n, 0) AS dead
    FROM hours
    LEFT JOIN created USING (hour) LEFT JOIN sent USING (hour) LEFT JOIN dead USING (hour)
    ORDER BY hours.hour`
  return {
    prunedBefore,
    byStatus: Object.fromEntries(byStatus.map((row) => [row.status, row.count])),
    deadByErrorCode,
    perHour,
  }
}
