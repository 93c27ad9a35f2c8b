import type { PrismaClient } from '../db/database.ts'
import { SUMMARY_COLUMNS, type MessageSummary } from './list-messages.ts'

export type CancelResult =
  | { result: 'canceled' | 'unchanged'; message: MessageSummary }
  | { result: 'not_cancelable'; message: MessageSummary; reason: string }
  | { result: 'not_found' }

/**
 * Cancels a pending message so that it is never sent, and records who did it. A message
 * already canceled is `unchanged`. One being sent right now cannot be called back.
 */
export async function cancelMessage(prisma: PrismaClient, id: string, { actor }: { actor: string }): Promise<CancelResult> {
  const [canceled] = await prisma.$queryRaw<{ id: string }[]>`
    WITH canceled AS (
      UPDATE sms_outbox.messages SET status = 'canceled', updated_at = now(), last_error_code = 'canceled',
                          last_error = 'canceled by ' || ${actor}
      WHERE id = ${id}::uuid AND status = 'pending'
      RETURNING id
    ), logged AS (
      INSERT INTO sms_outbox.admin_actions (actor, action, message_id) SELECT ${actor}, 'cancel', id FROM canceled
    )
    SELECT id FROM canceled`
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
