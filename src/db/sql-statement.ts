import type pg from 'pg'

/** A connection the outbox's worker-side SQL runs on: the pool, or one client of it (a transaction). */
export type Connection = pg.Pool | pg.PoolClient

/**
 * A tagged template as a parameterized statement: each `${value}` becomes `$n` and its
 * value a parameter, never text in the SQL. Spread into `query`:
 * `db.query(...sql\`SELECT … WHERE id = ${id}\`)`.
 */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): [string, unknown[]] {
  return [strings.reduce((text, part, index) => `${text}$${index}${part}`), values]
}
