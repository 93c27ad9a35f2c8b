import type { PrismaClient } from '../db/database.ts'
import { Prisma } from '../generated/prisma/client.ts'

/**
 * What a bulk action on messages matched or moved, broken down so that an admin sees
 * what a dry run would touch before confirming, and what the action did after.
 */
export interface BulkOutcome {
  /** Rows the action applies to (dry run), or moved (otherwise). */
  matched: number
  /** By the status the rows had before the action. */
  byStatus: Record<string, number>
  /** Most frequent first; `none` for rows without an error code. */
  byErrorCode: { errorCode: string; count: number }[]
}

/** Rows of one status and last error code, as a bulk statement groups what it touched. */
export interface RowGroup {
  status: string
  errorCode: string | null
  count: number
}

const NO_ERROR_CODE = 'none'

/** Adds up `groups` by status and by error code. */
export function tally(groups: RowGroup[]): BulkOutcome {
  const byStatus: Record<string, number> = {}
  const byErrorCode = new Map<string, number>()
  let matched = 0
  for (const { status, errorCode, count } of groups) {
    matched += count
    byStatus[status] = (byStatus[status] ?? 0) + count
    const code = errorCode ?? NO_ERROR_CODE
    byErrorCode.set(code, (byErrorCode.get(code) ?? 0) + count)
  }
  return {
    matched,
    byStatus,
    byErrorCode: [...byErrorCode]
      .map(([errorCode, count]) => ({ errorCode, count }))
      .sort((a, b) => b.count - a.count || a.errorCode.localeCompare(b.errorCode)),
  }
}

/** The dry run: the rows `scope` (conditions on `messages`) selects, counted by status and error code. */
export async function previewMatching(prisma: PrismaClient, scope: Prisma.Sql): Promise<BulkOutcome> {
  return tally(
    await prisma.$queryRaw<RowGroup[]>`
      SELECT status, last_error_code AS "errorCode", count(*)::int AS count
      FROM sms_outbox.messages WHERE ${scope}
      GROUP BY 1, 2`,
  )
}

/**
 * How an admin action locks its rows. A bulk action skips rows a dispatcher holds (they
 * are being sent; the next run takes them if still due). One message waits for the lock:
 * skipped, it would be answered with the status read before the claim, a false "not
 * pending"; waited for, the claim's write decides it.
 */
export const rowLocks = (bulk: boolean): Prisma.Sql => (bulk ? Prisma.sql`FOR UPDATE SKIP LOCKED` : Prisma.sql`FOR UPDATE`)
