import type { PrismaClient } from '../db/database.ts'
import { Prisma } from '../generated/prisma/client.ts'
import type { RecipientRefusal } from '../domain/outcome.ts'
import { SUPPRESSED_ERROR, SUPPRESSED_ERROR_CODE } from '../outbox/enqueue/recipient-suppressed.ts'
import { InvalidPhoneNumber, maskPhoneNumber, normalizePhoneNumber } from '../sms/phone-number.ts'
import { decodeCursor, pageOf } from './page-cursor.ts'

/** One number on the suppression list (in full; the HTTP layer and the CLI mask it). */
export interface SuppressionEntry {
  /** Names the entry where only the masked number is shown (the admin page). */
  id: string
  /** E.164 */
  recipient: string
  reason: RecipientRefusal
  /** The provider's code that caused it; null when an admin added the number. */
  errorCode: string | null
  provider: string | null
  /** The message whose failure caused it; null when an admin added the number. */
  messageId: string | null
  createdAt: Date
}

const ENTRY_COLUMNS = Prisma.raw(`
  id, recipient, reason, error_code AS "errorCode", provider, message_id AS "messageId",
  created_at AS "createdAt"`)

/** Which entry an admin means: the number itself, or the id the list shows beside its mask. */
export type SuppressionKey = { recipient: string } | { id: string }

/**
 * The suppression list, newest first, `limit` at a time, or only the entry of `recipient`.
 * Paged like the message list, by the last row's (created_at, id): never by the number.
 */
export async function listSuppressions(
  prisma: PrismaClient,
  { recipient, cursor, limit }: { recipient?: string; cursor?: string; limit: number },
): Promise<{ suppressions: SuppressionEntry[]; nextCursor: string | null }> {
  const only = recipient === undefined ? Prisma.sql`TRUE` : Prisma.sql`recipient = ${recipient}`
  const after = cursor === undefined ? Prisma.sql`TRUE` : afterCursor(cursor)
  const rows = await prisma.$queryRaw<(SuppressionEntry & { position: string })[]>`
    SELECT ${ENTRY_COLUMNS}, created_at::text AS position
    FROM sms_outbox.suppressions
    WHERE ${only} AND ${after}
    ORDER BY created_at DESC, id DESC
    LIMIT ${limit + 1}`
  const { page, nextCursor } = pageOf(rows, limit)
  return { suppressions: page, nextCursor }
}

function afterCursor(cursor: string): Prisma.Sql {
  const { position, id } = decodeCursor(cursor)
  return Prisma.sql`(created_at, id) < (${position}::timestamptz, ${id}::uuid)`
}

/**
 * Takes a number off the suppression list, so that messages to it are accepted again, and
 * records who did it in admin_actions: the number (erased by the retention job later), and
 * a masked copy with what the entry said. Returns the removed entry, or null when the
 * number was not on the list (then nothing is recorded).
 */
export async function removeSuppression(
  prisma: PrismaClient,
  key: SuppressionKey,
  { actor }: { actor: string },
): Promise<SuppressionEntry | null> {
  // The log keeps the number masked, which only JavaScript can do: an id is looked up first.
  const recipient = 'recipient' in key ? key.recipient : await recipientOf(prisma, key.id)
  if (recipient === undefined) return null
  const sameId = 'id' in key ? Prisma.sql`id = ${key.id}::uuid` : Prisma.sql`TRUE`
  const [removed] = await prisma.$queryRaw<SuppressionEntry[]>`
    WITH removed AS (
      DELETE FROM sms_outbox.suppressions WHERE recipient = ${recipient} AND ${sameId}
      RETURNING ${ENTRY_COLUMNS}
    ), logged AS (
      INSERT INTO sms_outbox.admin_actions (actor, action, recipient, detail)
      SELECT ${actor}, 'unsuppress', recipient,
             jsonb_build_object('to', ${maskPhoneNumber(recipient)}::text, 'reason', reason,
                                'errorCode', "errorCode", 'provider', provider,
                                'messageId', "messageId", 'since', "createdAt")
      FROM removed
    )
    SELECT * FROM removed`
  return removed ?? null
}

async function recipientOf(prisma: PrismaClient, id: string): Promise<string | undefined> {
  const [entry] = await prisma.$queryRaw<{ recipient: string }[]>`
    SELECT recipient FROM sms_outbox.suppressions WHERE id = ${id}::uuid`
  return entry?.recipient
}

/**
 * Puts a number on the suppression list by hand (say, a person who asked by phone to get
 * no more messages), and records who did it. A number already on the list keeps its
 * entry: `created` is false, and nothing is recorded.
 *
 * Either way the number's pending messages (scheduled ones too) are canceled in the same
 * statement, with `RECIPIENT_SUPPRESSED`; `canceledPending` says how many. A message being
 * sent at that moment is left to its lease-fenced outcome: it cannot be called back.
 */
export async function addSuppression(
  prisma: PrismaClient,
  { recipient, reason }: { recipient: string; reason: RecipientRefusal },
  { actor }: { actor: string },
): Promise<{ entry: SuppressionEntry; created: boolean; canceledPending: number }> {
  const [added] = await prisma.$queryRaw<((SuppressionEntry | { [key in keyof SuppressionEntry]: null }) & { canceledPending: number })[]>`
    WITH added AS (
      INSERT INTO sms_outbox.suppressions (recipient, reason) VALUES (${recipient}, ${reason})
      ON CONFLICT (recipient) DO NOTHING
      RETURNING ${ENTRY_COLUMNS}
    ), logged AS (
      INSERT INTO sms_outbox.admin_actions (actor, action, recipient, detail)
      SELECT ${actor}, 'suppress', recipient,
             jsonb_build_object('to', ${maskPhoneNumber(recipient)}::text, 'reason', reason)
      FROM added
    ), canceled AS (
      UPDATE sms_outbox.messages
      SET status = 'canceled', last_error_code = ${SUPPRESSED_ERROR_CODE}, last_error = ${SUPPRESSED_ERROR},
          updated_at = now()
      WHERE recipient = ${recipient} AND status = 'pending'
      RETURNING 1
    )
    -- One row whether or not the number was added, to carry the count.
    SELECT a.*, (SELECT count(*) FROM canceled)::int AS "canceledPending"
    FROM (SELECT) AS always_one_row LEFT JOIN added a ON true`
  const { canceledPending, ...entry } = added
  if (entry.id !== null) return { entry, created: true, canceledPending }
  const [existing] = await prisma.$queryRaw<SuppressionEntry[]>`
    SELECT ${ENTRY_COLUMNS} FROM sms_outbox.suppressions WHERE recipient = ${recipient}`
  // Removed between the two statements: adding again is what was asked.
  if (!existing) {
    const again = await addSuppression(prisma, { recipient, reason }, { actor })
    return { ...again, canceledPending: again.canceledPending + canceledPending }
  }
  return { entry: existing, created: false, canceledPending }
}

/**
 * `input` as the list stores numbers: E.164, from E.164 or a Korean domestic number. An
 * E.164 number the phone rules now refuse (new numbering metadata, a landline) is taken
 * as it is: such a number may already be on the list, and must stay removable.
 */
export function listedNumber(input: string): string {
  try {
    return normalizePhoneNumber(input)
  } catch (error) {
    if (error instanceof InvalidPhoneNumber && /^\+[1-9]\d{6,14}$/.test(input)) return input
    throw error
  }
}
