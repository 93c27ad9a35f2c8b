import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { PrismaClient } from '../generated/prisma/client.ts'

export type { PrismaClient }

export interface Database {
  prisma: PrismaClient
  /** The pool under Prisma; also used for LISTEN and readiness checks. */
  pool: pg.Pool
  close(): Promise<void>
}

/**
 * Prisma over a pg Pool (`@prisma/adapter-pg`: no native query engine, nothing to
 * download). Timeouts are finite so that an unreachable database fails a request with a
 * 503 in seconds instead of hanging it.
 */
export function connectDatabase(
  connectionString: string,
  { poolSize = 10, onError }: { poolSize?: number; onError?: (error: Error) => void } = {},
): Database {
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // A client-side bound too: a blackholed server never answers a statement_timeout.
    query_timeout: 15_000,
    statement_timeout: 10_000,
  })
  // An idle client whose server went away emits 'error'; unhandled, it would kill the
  // process. The next query reconnects.
  pool.on('error', (error) => onError?.(error))
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) })
  return {
    prisma,
    pool,
    async close() {
      await prisma.$disconnect()
      await pool.end().catch(() => {})
    },
  }
}
