import type pg from 'pg'

/**
 * All the outbox's own SQL needs from a connection: a pg pool, the one client of a
 * transaction, or a library caller's own transaction adapted to this shape
 * (src/library/transaction.ts).
 */
export interface Queryable {
  query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<{ rows: R[] }>
}
