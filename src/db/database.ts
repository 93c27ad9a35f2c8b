import { PrismaPg } from '@prisma/adapter-pg'
import type pg from 'pg'
import { connectPool, type PoolOptions } from './pool.ts'
import { PrismaClient } from '../generated/prisma/client.ts'

export type { PrismaClient }

export interface Database {
  prisma: PrismaClient
  /** The pool under Prisma; also used for LISTEN and readiness checks. */
  pool: pg.Pool
  close(): Promise<void>
}

/**
 * Prisma over the pool of connectPool (`@prisma/adapter-pg`: no native query engine,
 * nothing to download), for the API and the admin reads.
 */
export function connectDatabase(
  connectionString: string,
  options: PoolOptions = {},
): Database {
  const pool = connectPool(connectionString, options)
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
