import type pg from 'pg'

/** The tables pruning deletes from, whose indexes keep the emptied pages. */
const PRUNED_TABLES = ['messages', 'message_attempts'] as const

// Any constant both workers agree on: only one of them rebuilds at a time.
const COMPACTION_LOCK = 0x736d_7301

/**
 * A B-tree never gives back a page: after pruning deletes most of a table, VACUUM makes
 * the heap's space reusable (and hands a trailing empty stretch back to the file system)
 * but every index keeps its size. Steady pruning (a day's rows out of PRUNE_AFTER_HOURS'
 * worth) does not need more, as new rows reuse the freed pages; a table that lost most
 * of its rows at once (the first prune of a year of history) would carry the year's
 * index size forever. This rebuilds the pruned tables' indexes with REINDEX CONCURRENTLY:
 * inserts, claims and updates go on meanwhile; only DDL and other vacuums wait.
 *
 * One worker at a time (a session advisory lock; the others skip). A rebuild cut short
 * (a stop, a lost connection) leaves an invalid `*_ccnew` copy behind; the next one drops
 * those first.
 * Returns the tables rebuilt, or [] when another worker was already at it.
 */
export async function compactPrunedIndexes(pool: pg.Pool): Promise<string[]> {
  const client = await pool.connect()
  let locked = false
  try {
    locked = (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [COMPACTION_LOCK])).rows[0].locked
    if (!locked) return []
    // A rebuild of a big index takes minutes; the pool's bound is for the hot path.
    await client.query('SET statement_timeout = 0')
    const leftovers = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'sms_outbox' AND NOT i.indisvalid AND c.relname LIKE '%\\_ccnew%'`,
    )
    for (const { name } of leftovers.rows) {
      await client.query(`DROP INDEX CONCURRENTLY IF EXISTS sms_outbox."${name}"`)
    }
    for (const table of PRUNED_TABLES) await client.query(`REINDEX TABLE CONCURRENTLY sms_outbox.${table}`)
    return [...PRUNED_TABLES]
  } finally {
    let broken: Error | undefined
    try {
      if (locked) await client.query('SELECT pg_advisory_unlock($1)', [COMPACTION_LOCK])
      await client.query('RESET statement_timeout')
    } catch (error) {
      // The session is gone or unusable: it must not go back to the pool.
      broken = error as Error
    }
    client.release(broken)
  }
}

/**
 * The planner's estimate of the live rows of `messages` (pg_class.reltuples, kept by
 * VACUUM and ANALYZE; -1 before the first). `analyze` refreshes it first: ANALYZE reads
 * a sample of 30,000 rows, not the table.
 */
export async function estimatedMessageRows(pool: pg.Pool, { analyze = false } = {}): Promise<number> {
  // One simple-protocol string is one transaction, so SET LOCAL covers the ANALYZE: on a
  // cold, big table the sample's reads may outlast the pool's statement_timeout.
  if (analyze) await pool.query('SET LOCAL statement_timeout = 0; ANALYZE sms_outbox.messages')
  const { rows } = await pool.query<{ rows: number }>(
    `SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'sms_outbox.messages'::regclass`,
  )
  return rows[0].rows
}
