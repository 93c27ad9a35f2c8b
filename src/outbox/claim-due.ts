import type { PrismaClient } from '../db/database.ts'
import type { MessageType } from '../sms/message-encoding.ts'

/** A row this dispatcher now holds under a lease, with what sending it takes. */
export interface ClaimedMessage {
  id: string
  to: string
  text: string
  type: MessageType
  /** Includes this attempt. */
  attempts: number
  maxRetries: number
  leaseToken: string
}

/**
 * Claims up to `limit` due rows in one statement: locks them (skipping rows another
 * dispatcher holds), moves them to `sending` under a fresh lease token that ends
 * `leaseMs` after the database's now(), counts the attempt and opens its history row.
 * Due rows already past `expires_at` become `expired` instead, in the same statement.
 */
export async function claimDue(
  prisma: PrismaClient,
  { limit, leaseMs, provider }: { limit: number; leaseMs: number; provider: string },
): Promise<ClaimedMessage[]> {
  return prisma.$queryRaw<ClaimedMessage[]>`
    WITH due AS (
      SELECT id FROM messages
      WHERE status = 'pending' AND next_attempt_at <= now()
      ORDER BY next_attempt_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ), expired AS (
      UPDATE messages m
      SET status = 'expired', updated_at = now(), last_error_code = 'expired',
          last_error = 'not sent before expires_at'
      FROM due WHERE m.id = due.id AND m.expires_at <= now()
    ), claimed AS (
      UPDATE messages m
      SET status = 'sending', attempts = m.attempts + 1, lease_token = gen_random_uuid(),
          locked_until = now() + ${leaseMs} * interval '1 millisecond', provider = ${provider},
          updated_at = now()
      FROM due WHERE m.id = due.id AND m.expires_at > now()
      RETURNING m.id, m.recipient, m.body, m.type, m.attempts, m.max_retries, m.lease_token
    ), opened AS (
      INSERT INTO message_attempts (message_id, attempt, started_at)
      SELECT id, attempts, now() FROM claimed
    )
    SELECT id, recipient AS "to", body AS "text", type, attempts, max_retries AS "maxRetries",
           lease_token::text AS "leaseToken"
    FROM claimed`
}
