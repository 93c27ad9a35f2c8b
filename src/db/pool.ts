import pg from 'pg'

export interface PoolOptions {
  poolSize?: number
  /** An idle connection was lost; the next query reconnects. */
  onError?: (error: Error) => void
}

/** How long a statement waits for a connection, then for its answer, before it fails. */
export const CONNECTION_TIMEOUT_MS = 5_000
export const QUERY_TIMEOUT_MS = 15_000

/**
 * The pg pool every process has. Timeouts are finite so that an unreachable database
 * fails a request with a 503 in seconds instead of hanging it. A worker needs nothing
 * more: its statements run on the pool, and it never loads Prisma (30 MB or more).
 */
export function connectPool(
  connectionString: string,
  { poolSize = 10, onError }: PoolOptions = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    connectionTimeoutMillis: CONNECTION_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    // A client-side bound too: a blackholed server never answers a statement_timeout.
    query_timeout: QUERY_TIMEOUT_MS,
    statement_timeout: 10_000,
  })
  // An idle client whose server went away emits 'error'; unhandled, it would kill the
  // process. The next query reconnects.
  pool.on('error', (error) => onError?.(error))
  return pool
}
