import type { PrismaClient } from '../db/database.ts'
import { Prisma } from '../generated/prisma/client.ts'
import { previewMatching, rowLocks, tally, type BulkOutcome, type RowGroup } from './bulk-outcome.ts'
import { SUMMARY_COLUMNS, type MessageSummary } from './list-messages.ts'
import { filterCondition, type MessageFilter } from './message-filter.ts'

export type CancelResult =
  | { result: 'canceled' | 'unchanged'; message: MessageSummary }
  | { result: 'not_cancelable'; message: MessageSummary; reason: string }
  | { result: 'not_found' }

/**
 * Cancels a pending message so that it is never sent, and records who did it. A message
 * already canceled is `unchanged`. One being sent right now cannot be called back.
 */
export async function cancelMessage(prisma: PrismaClient, id: string, { actor }: { actor: string }): Promise<CancelResult> {
  const [canceled] = await cancel(prisma, Prisma.sql`id = ${id}::uuid`, { actor, bulk: false })
  const [message] = await prisma.$queryRaw<MessageSummary[]>`
    SELECT ${SUMMARY_COLUMNS} FROM sms_outbox.messages WHERE id = ${id}::uuid`
  if (!message) return { result: 'not_found' }
  if (canceled) return { result: 'canceled', message }
  if (message.status === 'canceled') return { result: 'unchanged', message }
  const reason =
    message.status === 'sending'
      ? 'it is being sent right now and cannot be called back'
      : `a ${message.status} message is not pending`
  return { result: 'not_cancelable', message, reason }
}

/**
 * The bulk cancel: every pending message matching `filter` canceled, as `cancelMessage`
 * does, in one statement. Messages in other statuses are left alone (one being sent
 * cannot be called back). With `dryRun`, only counts them.
 */
export async function cancelMatching(
  prisma: PrismaClient,
  filter: MessageFilter,
  { actor, dryRun }: { actor: string; dryRun: boolean },
): Promise<BulkOutcome> {
  if (filter.status !== undefined && !filter.status.includes('pending')) return tally([])
  const scope = filterCondition({ ...filter, status: ['pending'] })
  if (dryRun) return previewMatching(prisma, scope)
  return tally(await cancel(prisma, scope, { actor, bulk: true }))
}

/** The one statement behind both cancels; returns what it canceled, by error code. */
async function cancel(
  prisma: PrismaClient,
  scope: Prisma.Sql,
  { actor, bulk }: { actor: string; bulk: boolean },
): Promise<RowGroup[]> {
  return prisma.$queryRaw<RowGroup[]>`
    WITH target AS (
      SELECT id, last_error_code FROM sms_outbox.messages WHERE ${scope} AND status = 'pending'
      ${rowLocks(bulk)}
    ), canceled AS (
      UPDATE sms_outbox.messages m SET status = 'canceled', updated_at = now(), last_error_code = 'canceled',
                            last_error = 'canceled by ' || ${actor}
      FROM target WHERE m.id = target.id
      RETURNING m.id, target.last_error_code
    ), logged AS (
      INSERT INTO sms_outbox.admin_actions (actor, action, message_id, detail)
      SELECT ${actor}, 'cancel', id, CASE WHEN ${bulk}::boolean THEN '{"bulk": true}'::jsonb END FROM canceled
    )
    SELECT 'pending' AS status, last_error_code AS "errorCode", count(*)::int AS count
    FROM canceled GROUP BY 2`
}
