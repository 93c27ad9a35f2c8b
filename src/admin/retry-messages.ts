import type { PrismaClient } from '../db/database.ts'
import { Prisma } from '../generated/prisma/client.ts'
import type { MessageStatus } from '../outbox/message.ts'
import { SUMMARY_COLUMNS, type MessageSummary } from './list-messages.ts'
import { previewMatching, rowLocks, tally, type BulkOutcome, type RowGroup } from './bulk-outcome.ts'
import { filterCondition, type MessageFilter } from './message-filter.ts'

/** Only these come back: a message that was sent, or canceled on purpose, stays so. */
export const RETRYABLE_STATUSES: MessageStatus[] = ['dead', 'expired']

export interface RetryOptions {
  /** Recorded in admin_actions. */
  actor: string
  /** A retried message gets at least this long again before it expires. */
  ttlSeconds: number
}

export type RetryResult =
  | { result: 'retried' | 'unchanged'; message: MessageSummary }
  | { result: 'not_retryable'; message: MessageSummary; reason: string }
  | { result: 'not_found' }

/**
 * Moves one dead or expired message back to `pending`, due now, with a fresh retry budget
 * and at least `ttlSeconds` before it expires, and records who did it. A message already
 * pending or being sent again is left alone (`unchanged`): retrying twice is harmless. A
 * message to a number on the suppression list is not retried, as it would not be accepted.
 */
export async function retryMessage(prisma: PrismaClient, id: string, options: RetryOptions): Promise<RetryResult> {
  const [retried] = await redrive(prisma, Prisma.sql`id = ${id}::uuid`, { ...options, bulk: false })
  const [message] = await prisma.$queryRaw<MessageSummary[]>`
    SELECT ${SUMMARY_COLUMNS} FROM sms_outbox.messages WHERE id = ${id}::uuid`
  if (!message) return { result: 'not_found' }
  if (retried) return { result: 'retried', message }
  if (message.status === 'pending' || message.status === 'sending') return { result: 'unchanged', message }
  const reason =
    message.erasedAt !== null
      ? 'its number and text were erased by the retention job'
      : RETRYABLE_STATUSES.includes(message.status)
        ? 'its number is on the suppression list; remove it from the list first'
        : `a ${message.status} message is not sent again; only dead and expired ones are`
  return { result: 'not_retryable', message, reason }
}

/**
 * The bulk redrive: every dead or expired message matching `filter` back to `pending`, as
 * `retryMessage` does, in one statement. Other statuses in the filter are ignored, and so
 * are messages to suppressed numbers. With `dryRun`, only counts them.
 */
export async function retryMatching(
  prisma: PrismaClient,
  filter: MessageFilter,
  { dryRun, ...options }: RetryOptions & { dryRun: boolean },
): Promise<BulkOutcome> {
  const statuses = (filter.status ?? RETRYABLE_STATUSES).filter((status) => RETRYABLE_STATUSES.includes(status))
  if (statuses.length === 0) return tally([])
  const scope = filterCondition({ ...filter, status: statuses })
  if (dryRun) return previewMatching(prisma, Prisma.sql`${scope} AND ${RETRYABLE}`)
  return tally(await redrive(prisma, scope, { ...options, bulk: true }))
}

// A bulk redrive of every `21610` must not text the people who said STOP: enqueue would
// refuse those numbers, so a retry does too.
const NOT_SUPPRESSED = Prisma.sql`NOT EXISTS (SELECT 1 FROM sms_outbox.suppressions s WHERE s.recipient = messages.recipient)`
const RETRYABLE = Prisma.sql`status = ANY(${RETRYABLE_STATUSES}::text[]) AND erased_at IS NULL AND ${NOT_SUPPRESSED}`

/** The one statement behind both retries; returns what it moved, by former status and error code. */
async function redrive(
  prisma: PrismaClient,
  scope: Prisma.Sql,
  { actor, ttlSeconds, bulk }: RetryOptions & { bulk: boolean },
): Promise<RowGroup[]> {
  return prisma.$queryRaw<RowGroup[]>`
    WITH target AS (
      SELECT id, status, last_error_code FROM sms_outbox.messages
      WHERE ${scope} AND ${RETRYABLE}
      ${rowLocks(bulk)}
    ), retried AS (
      UPDATE sms_outbox.messages m
      SET status = 'pending', counted_attempts = 0, next_attempt_at = now(), updated_at = now(),
          expires_at = greatest(m.expires_at, now() + make_interval(secs => ${ttlSeconds}))
      FROM target WHERE m.id = target.id
      RETURNING m.id, target.status AS previous_status, target.last_error_code
    ), logged AS (
      INSERT INTO sms_outbox.admin_actions (actor, action, message_id, detail)
      SELECT ${actor}, 'retry', id, jsonb_build_object('from', previous_status, 'bulk', ${bulk}::boolean)
      FROM retried
    )
    SELECT previous_status AS status, last_error_code AS "errorCode", count(*)::int AS count
    FROM retried GROUP BY 1, 2`
}
