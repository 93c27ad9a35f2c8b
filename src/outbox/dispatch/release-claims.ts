import type { Connection } from '../../db/sql-statement.ts'
import type { ClaimedMessage } from './claim-due.ts'

/**
 * Gives back rows this dispatcher claimed but never sent (its queue when it stops, or a
 * row that waited too long for a call): each is pending and due again, as if the claim
 * had not happened. The attempt the claim counted is taken back; the ledger has no row
 * for it (an attempt's row is written with its outcome), so nothing says a call was
 * made. A row whose lease is no longer this claim's (reclaimed meanwhile) is left alone:
 * the lease token fences, alone, as in recordOutcomes.
 * Returns how many rows went back.
 */
export async function releaseClaims(db: Connection, messages: Pick<ClaimedMessage, 'id' | 'leaseToken'>[]): Promise<number> {
  const { rows } = await db.query<{ released: number }>(
    `WITH released AS (
       UPDATE sms_outbox.messages m
       SET status = 'pending', attempts = m.attempts - 1, counted_attempts = m.counted_attempts - 1,
           lease_token = NULL, locked_until = NULL, updated_at = now()
       FROM unnest($1::uuid[], $2::uuid[]) AS r(id, lease_token)
       WHERE m.id = r.id AND m.lease_token = r.lease_token
       RETURNING m.id
     )
     SELECT count(*)::int AS released FROM released`,
    [messages.map((m) => m.id), messages.map((m) => m.leaseToken)],
  )
  return rows[0].released
}
