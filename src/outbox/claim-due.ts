import type pg from 'pg'
import type { MessageType } from '../sms/message-encoding.ts'

/** A row this dispatcher now holds under a lease, with what sending it takes. */
export interface ClaimedMessage {
  id: string
  to: string
  text: string
  type: MessageType
  /** Every provider call for this message, this one included. */
  attempts: number
  /** The calls that used the retry budget, this one included. */
  countedAttempts: number
  maxRetries: number
  leaseToken: string
  /** Sent to test a paused provider: if it goes through, the pause ends. */
  probe: boolean
}

export interface ClaimOptions {
  limit: number
  leaseMs: number
  provider: string
  /** While the provider is paused, one probe message per this interval. */
  probeIntervalMs: number
}

/**
 * Claims up to `limit` due rows in one statement: locks them (skipping rows another
 * dispatcher holds), moves them to `sending` under a fresh lease token that ends
 * `leaseMs` after the database's now(), counts the attempt and opens its history row.
 *
 * Rows past `expires_at` are left for `expireOverdue`. While `provider` is paused, the
 * statement claims nothing, except one probe row when the pause's probe time has come;
 * taking the probe moves that time on, so among many dispatchers only one probes.
 */
export async function claimDue(
  db: pg.Pool | pg.PoolClient,
  { limit, leaseMs, provider, probeIntervalMs }: ClaimOptions,
): Promise<ClaimedMessage[]> {
  const { rows } = await db.query<ClaimedMessage>(CLAIM_DUE, [provider, probeIntervalMs, limit, leaseMs])
  return rows
}

// The dispatcher's hot path runs on the pg pool under Prisma, not through Prisma's raw
// queries, which took 2.4 times the CPU (see outbox/enqueue.ts and README "Performance").
const CLAIM_DUE = `
  WITH paused AS (
    SELECT 1 FROM provider_pauses WHERE provider = $1
  ), probe AS (
    UPDATE provider_pauses
    SET next_probe_at = now() + $2::int * interval '1 millisecond', probes = probes + 1
    WHERE provider = $1::text AND next_probe_at <= now()
    RETURNING 1
  ), due AS (
    SELECT id FROM messages
    WHERE status = 'pending' AND next_attempt_at <= now() AND expires_at > now()
    ORDER BY next_attempt_at
    LIMIT CASE WHEN EXISTS (SELECT 1 FROM probe) THEN 1
               WHEN EXISTS (SELECT 1 FROM paused) THEN 0
               ELSE $3::int END
    FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE messages m
    SET status = 'sending', attempts = m.attempts + 1, counted_attempts = m.counted_attempts + 1,
        lease_token = gen_random_uuid(), locked_until = now() + $4::int * interval '1 millisecond',
        provider = $1, updated_at = now()
    FROM due WHERE m.id = due.id
    RETURNING m.id, m.recipient, m.body, m.type, m.attempts, m.counted_attempts, m.max_retries,
              m.lease_token
  ), opened AS (
    INSERT INTO message_attempts (message_id, attempt, started_at)
    SELECT id, attempts, now() FROM claimed
  )
  SELECT id, recipient AS "to", body AS "text", type, attempts, counted_attempts AS "countedAttempts",
         max_retries AS "maxRetries", lease_token::text AS "leaseToken",
         EXISTS (SELECT 1 FROM probe) AS probe
  FROM claimed`
