import type { PrismaClient } from '../db/database.ts'
import { Prisma } from '../generated/prisma/client.ts'
import type { DeliveryFields, MessageStatus } from '../outbox/message.ts'
import type { MessageType } from '../sms/message-encoding.ts'
import { filterCondition, type MessageFilter } from './message-filter.ts'
import { decodeCursor, pageOf } from './page-cursor.ts'

/** One line of the admin list (the full number; the HTTP layer masks it). */
export interface MessageSummary extends DeliveryFields {
  id: string
  status: MessageStatus
  to: string | null
  type: MessageType
  bytes: number
  attempts: number
  maxRetries: number
  lastErrorCode: string | null
  lastError: string | null
  provider: string | null
  createdAt: Date
  updatedAt: Date
  nextAttemptAt: Date
  expiresAt: Date
  sentAt: Date | null
  erasedAt: Date | null
  /** The text's first characters, to tell messages apart in a list; null once erased. */
  textPreview: string | null
}

/** How much of the text a list line shows. */
export const TEXT_PREVIEW_CHARACTERS = 40
/**
 * Read beyond the preview, so that a number the cut would split is whole when the view
 * redacts it, and only then cut: a number is at most 20 characters with its separators.
 */
const PREVIEW_MARGIN = 20


export const SUMMARY_COLUMNS = Prisma.raw(`
  id, status, recipient AS "to", type, bytes, attempts, max_retries AS "maxRetries",
  last_error_code AS "lastErrorCode", last_error AS "lastError", provider,
  created_at AS "createdAt", updated_at AS "updatedAt", next_attempt_at AS "nextAttemptAt",
  expires_at AS "expiresAt", sent_at AS "sentAt", erased_at AS "erasedAt",
  delivery_status AS "deliveryStatus", delivery_at AS "deliveryAt", delivery_error_code AS "deliveryErrorCode",
  left(body, ${TEXT_PREVIEW_CHARACTERS + PREVIEW_MARGIN}) AS "textPreview"`)

/**
 * Messages matching `filter`, newest first, `limit` at a time. The cursor is the last
 * row's (created_at, id), see page-cursor.ts.
 */
export async function listMessages(
  prisma: PrismaClient,
  filter: MessageFilter,
  { cursor, limit }: { cursor?: string; limit: number },
): Promise<{ messages: MessageSummary[]; nextCursor: string | null }> {
  const after = cursor === undefined ? Prisma.sql`TRUE` : afterCursor(cursor)
  const rows = await prisma.$queryRaw<(MessageSummary & { position: string })[]>`
    SELECT ${SUMMARY_COLUMNS}, created_at::text AS position
    FROM sms_outbox.messages
    WHERE ${filterCondition(filter)} AND ${after}
    ORDER BY created_at DESC, id DESC
    LIMIT ${limit + 1}`
  const { page, nextCursor } = pageOf(rows, limit)
  return { messages: page, nextCursor }
}

/** How many messages match `filter`: a range of an index for a status filter, the table otherwise. */
export async function countMessages(prisma: PrismaClient, filter: MessageFilter): Promise<number> {
  const [{ count }] = await prisma.$queryRaw<{ count: number }[]>`
    SELECT count(*)::int AS count FROM sms_outbox.messages WHERE ${filterCondition(filter)}`
  return count
}

function afterCursor(cursor: string): Prisma.Sql {
  const { position, id } = decodeCursor(cursor)
  return Prisma.sql`(created_at, id) < (${position}::timestamptz, ${id}::uuid)`
}
