import type { Queryable } from '../db/queryable.ts'

/**
 * The transaction client Prisma hands to `prisma.$transaction(async (tx) => ...)`. Typed by
 * shape, not by this package's generated client: the caller's Prisma client is its own.
 */
export interface PrismaTransaction {
  $queryRawUnsafe(query: string, ...values: unknown[]): PromiseLike<unknown>
}

/**
 * Where a library caller's message is written: its Prisma interactive transaction, or a
 * pg client (`pg.Client`, or a pool's client) on which it ran BEGIN. Either way the
 * message commits or rolls back with the caller's own writes.
 */
export type Transaction = PrismaTransaction | Queryable

/**
 * The enqueue SQL runs on `.query(text, values)`. A pg client has it already; a Prisma
 * transaction runs the same statement through `$queryRawUnsafe`. That costs more CPU than
 * pg (src/outbox/enqueue/enqueue.ts), but the caller's transaction lives on Prisma's connection,
 * so there is no other way into it.
 * Through @prisma/adapter-pg, array parameters (uuid[], timestamptz[], jsonb[]) go to
 * PostgreSQL as arrays, and timestamps and JSON come back as Date and parsed objects, as
 * pg returns them (test/integration/library.test.ts compares the two).
 */
export function queryableOf(tx: Transaction): Queryable {
  if ('$queryRawUnsafe' in tx) {
    return {
      query: async <R>(text: string, values: unknown[]) => ({ rows: (await tx.$queryRawUnsafe(text, ...values)) as R[] }),
    }
  }
  // Text and values only: the connection is the caller's, and no prepared statement of
  // ours should outlive the call on it (src/db/prepared-statements.ts).
  return { query: (text, values) => tx.query(text, values) }
}
