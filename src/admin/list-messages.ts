import type { PrismaClient } from '../db/database.ts'
import { Prisma } from '../generated/prisma/client.ts'
import type { MessageStatus } from '../outbox/message.ts'
import type { MessageType } from '../sms/message-encoding.ts'
import { filterCondition, InvalidFilter, type MessageFilter } from './message-filter.ts'

/** One line of the admin list (the full number; the HTTP layer masks it). */
export interface MessageSummary {
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
}


export const SUMMARY_COLUMNS = Prisma.raw(`
  id, status, recipient AS "to", type, bytes, attempts, max_retries AS "maxRetries",
  last_error_code AS "lastErrorCode", last_error AS "lastError", provider,
  created_at AS "createdAt", updated_at AS "updatedAt", next_attempt_at AS "nextAttemptAt",
  expires_at AS "expiresAt", sent_at AS "sentAt", erased_at AS "erasedAt"`)

/**
 * Messages matching `filter`, newest first, `limit` at a time. The cursor is the last
 * row's (created_at, id), kept at the database's microsecond precision: JavaScript's
 * milliseconds would skip or repeat rows created within the same millisecond.
 */
export async function listMessages(
  prisma: PrismaClient,
  filter: MessageFilter,
  { cursor, limit }: { cursor?: string; limit: number },
): Promise<{ messages: MessageSummary[]; nextCursor: string | null }> {
  const after = cursor === undefined ? Prisma.sql`TRUE` : afterCursor(cursor)
  const rows = await prisma.$queryRaw<(MessageSummary & { position: string })[]>`
    SELECT ${SUMMARY_COLUMNS}, created_at::text AS position
    FROM messages
    WHERE ${filterCondition(filter)} AND ${after}
    ORDER BY created_at DESC, id DESC
    LIMIT ${limit + 1}`
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  const nextCursor = rows.length > limit && last ? encodeCursor(last.position, last.id) : null
  return { messages: page.map(({ position: _position, ...message }) => message), nextCursor }
}

// created_at::text as PostgreSQL writes it, e.g. `2026-11-29 18:49:16.123456+00`.
const POSTGRES_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/

/**
 * A cursor's timestamp must be one PostgreSQL can read back: the shape alone let a forged
 * `0000-01-01` or `2026-02-30` through to the cast, a 500 (chaos scenario 23, input fuzz).
 */
function isRealTimestamp(text: string): boolean {
  const match = POSTGRES_TIMESTAMP.exec(text)
  if (!match) return false
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number)
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second))
  return (
    year >= 1 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second
  )
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url')
}

function afterCursor(cursor: string): Prisma.Sql {
  let createdAt: unknown
  let id: unknown
  try {
    ;[createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[]
  } catch {
    throw new InvalidFilter('cursor is not one this API returned')
  }
  if (typeof createdAt !== 'string' || !isRealTimestamp(createdAt) || typeof id !== 'string' || !UUID.test(id)) {
    throw new InvalidFilter('cursor is not one this API returned')
  }
  return Prisma.sql`(created_at, id) < (${createdAt}::timestamptz, ${id}::uuid)`
}
