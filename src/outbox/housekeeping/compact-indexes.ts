import pg from 'pg'

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
 * index size forever.
 *
 * So when `messages`, which held `rowsBefore` rows (the planner's estimate) before a run
 * pruned it, holds at most half of that now (ANALYZE reads a sample of 30,000 rows, not
 * the table), this rebuilds the pruned tables' indexes with REINDEX CONCURRENTLY:
 * inserts, claims and updates go on meanwhile; only DDL and other vacuums wait.
 *
 * On a connection of its own, without the pool's timeouts (a rebuild of a big index
 * takes minutes), and one worker at a time (a session advisory lock; the others skip).
 * A rebuild cut short (a stop, a lost connection) leaves an invalid `*_ccnew` copy
 * behind; the next one drops those first.
 * Returns the tables rebuilt: [] when most rows are still there, or another worker is at it.
 */
export async function compactIfMostlyPruned(pool: pg.Pool, rowsBefore: number): Promise<string[]> {
  const client = new pg.Client({ ...pool.options, query_timeout: undefined, statement_timeout: undefined })
  await client.connect()
  try {
    const { rows: [{ locked }] } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [COMPACTION_LOCK])
    if (!locked) return []
    await client.query('ANALYZE sms_outbox.messages')
    if ((await estimatedMessageRows(client)) > rowsBefore / 2) return []
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
    // Ending the session releases the advisory lock.
    await client.end()
  }
}

/**
 * The planner's estimate of the live rows of `messages` (pg_class.reltuples, kept by
 * VACUUM and ANALYZE; -1 before the first).
 */
export async function estimatedMessageRows(db: pg.Pool | pg.Client): Promise<number> {
  const { rows } = await db.query<{ rows: number }>(
    `SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'sms_outbox.messages'::regclass`,
  )
  return rows[0].rows
}
