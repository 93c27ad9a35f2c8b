import type pg from 'pg'
import { phoneNumberOf } from './load-generator.ts'

/**
 * Inserts `count` due messages straight into the outbox, as a library caller's
 * transaction would: for the scenarios that run no API process, so that every backend
 * other than the harness's belongs to a dispatcher. The trigger notifies LISTENers.
 */
export async function insertMessages(pool: pg.Pool, count: number, label: string): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO sms_outbox.messages (recipient, body, type, bytes, max_retries, expires_at)
     SELECT r, $2 || ' ' || i, 'SMS', 10, 3, now() + interval '1 day'
     FROM unnest($1::text[]) WITH ORDINALITY AS t(r, i)
     RETURNING id`,
    [Array.from({ length: count }, (_, i) => phoneNumberOf(i)), label],
  )
  return rows.map((row) => row.id)
}
