import type { PrismaClient } from '../db/database.ts'

/** A message that ran out of time unsent. */
export interface ExpiredMessage {
  id: string
  to: string
}

/**
 * Moves up to `limit` pending rows past their `expires_at` to `expired`: they are never
 * sent. Claims skip such rows, so this is the one place where messages expire, whether
 * the provider is healthy, paused or failing. Rows are found through the due index:
 * a retry is never scheduled past `expires_at`, so an overdue row is also due.
 */
export async function expireOverdue(prisma: PrismaClient, { limit }: { limit: number }): Promise<ExpiredMessage[]> {
  return prisma.$queryRaw<ExpiredMessage[]>`
    WITH overdue AS (
      SELECT id FROM messages
      WHERE status = 'pending' AND next_attempt_at <= now() AND expires_at <= now()
      ORDER BY next_attempt_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    )
    UPDATE messages m
    SET status = 'expired', updated_at = now(), last_error_code = 'expired',
        last_error = 'not sent before expires_at'
    FROM overdue WHERE m.id = overdue.id
    RETURNING m.id, m.recipient AS "to"`
}
