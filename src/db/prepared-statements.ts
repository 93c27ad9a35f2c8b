import pg from 'pg'
import type { Queryable } from './queryable.ts'

// Process-wide, as pg's own type parsers are: main.ts sets it from
// DATABASE_PREPARED_STATEMENTS before the first query.
let enabled = true

/** Whether `queryPrepared` names its statements (DATABASE_PREPARED_STATEMENTS). */
export function usePreparedStatements(on: boolean): void {
  enabled = on
}

/**
 * Runs a hot-path statement as the named prepared statement `name`: PostgreSQL parses and
 * plans it once per connection instead of on every call. Enqueue's INSERT of 16 rows took
 * 0.92-0.99 ms prepared against 1.24-1.40 ms unnamed, and REST enqueue, which waits on one
 * such INSERT at a time, went from 6,570 to 7,760-8,920 msg/s in an A/B of bench/'s rest
 * phase. Only pg's own pools and clients take a name; anything else (a library caller's
 * Prisma transaction) gets the text and values. PgBouncer in transaction mode before 1.21
 * cannot keep prepared statements: DATABASE_PREPARED_STATEMENTS=false turns them off.
 */
export function queryPrepared<R extends pg.QueryResultRow>(
  db: Queryable,
  name: string,
  text: string,
  values: unknown[],
): Promise<{ rows: R[] }> {
  if (enabled && (db instanceof pg.Pool || db instanceof pg.Client)) return db.query<R>({ name, text, values })
  return db.query<R>(text, values)
}
