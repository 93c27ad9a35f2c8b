import type pg from 'pg'
import type { LoadGenerator } from './load-generator.ts'

/** What replaying the unresolved keys showed. */
export interface ReplayFigures {
  /** Keys whose every try was a timeout, a reset, a 5xx or a refusal. */
  unresolved: number
  /** ...of which a row existed before the replay (the lost answer was for a commit). */
  committed_before_replay: number
  /** Replays of committed keys that returned the original id with 200. */
  replay_returned_original: number
  /** Replays of committed keys that came back any other way (must be 0). */
  replay_mismatched: number
  /** Keys with more than one row (must be 0). */
  keys_with_several_rows: number
  /** Replays that still got no final answer. */
  replay_failed: number
}

/**
 * Replays every key the callers got no final answer for, as a client would, and checks
 * the idempotency promise: a key whose request had committed gets its original id back
 * with 200 and no new row; one that had not is created once, now.
 */
export async function replayUnresolved(
  pool: pg.Pool,
  load: LoadGenerator,
  targets: () => string[],
): Promise<ReplayFigures> {
  const unresolved = load.unresolved()
  const keys = unresolved.map((log) => log.key)
  const before = new Map(
    (await pool.query<{ key: string; id: string }>(
      `SELECT k.key, m.id FROM unnest($1::text[]) AS k(key)
       JOIN sms_outbox.messages m ON m.idempotency_key = encode(sha256(convert_to(k.key, 'UTF8')), 'hex')`,
      [keys],
    )).rows.map((row) => [row.key, row.id]),
  )
  let returnedOriginal = 0
  let mismatched = 0
  let failed = 0
  for (const log of unresolved) {
    const result = await load.replay(log.key, { targets, timeoutMs: 10_000 })
    const original = before.get(log.key)
    if (result.outcome !== 'accepted') failed += 1
    else if (original === undefined) continue
    else if (result.status === 200 && result.id === original) returnedOriginal += 1
    else mismatched += 1
  }
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT idempotency_key FROM sms_outbox.messages WHERE idempotency_key IS NOT NULL
     GROUP BY idempotency_key HAVING count(*) > 1) several`,
  )
  return {
    unresolved: unresolved.length,
    committed_before_replay: before.size,
    replay_returned_original: returnedOriginal,
    replay_mismatched: mismatched,
    keys_with_several_rows: rows[0].n,
    replay_failed: failed,
  }
}

/** Rows whose idempotency key no caller ever got a 2xx for, even after the replays. */
export async function rowsNeverAccepted(pool: pg.Pool, load: LoadGenerator): Promise<number> {
  const accepted = new Set(load.acceptedIds().values())
  const { rows } = await pool.query<{ id: string }>(`SELECT id FROM sms_outbox.messages`)
  return rows.filter((row) => !accepted.has(row.id)).length
}
