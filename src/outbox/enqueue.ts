import { randomUUID } from 'node:crypto'
import type { PrismaClient } from '../db/database.ts'
import { Prisma } from '../generated/prisma/client.ts'
import type { MessageType } from '../sms/message-encoding.ts'
import type { MessageRecord } from './message.ts'

/** A validated message, ready to insert. */
export interface NewMessage {
  to: string
  text: string
  type: MessageType
  bytes: number
  maxRetries: number
  sendAt?: Date
  expiresAt?: Date
  metadata?: Record<string, unknown>
  idempotencyKey?: string
  /** Fingerprint of the request, compared when the idempotency key is seen again. */
  requestHash?: string
}

export interface Enqueued {
  message: MessageRecord
  /** false when an idempotency key matched an earlier request: nothing new was written. */
  created: boolean
}

/** An idempotency key came back with a different request. */
export class IdempotencyConflict extends Error {
  override name = 'IdempotencyConflict'
  constructor(
    readonly idempotencyKey: string,
    message = `Idempotency-Key "${idempotencyKey}" was already used for a different request`,
  ) {
    super(message)
  }
}

/** The columns of a message, named as MessageRecord names them. */
const MESSAGE_COLUMNS = Prisma.raw(`
  id, status, recipient AS "to", body AS "text", type, bytes, attempts,
  max_retries AS "maxRetries", next_attempt_at AS "nextAttemptAt",
  last_error_code AS "lastErrorCode", last_error AS "lastError", provider,
  provider_message_id AS "providerMessageId", metadata, created_at AS "createdAt",
  updated_at AS "updatedAt", sent_at AS "sentAt", expires_at AS "expiresAt", erased_at AS "erasedAt"`)

/**
 * Inserts `messages` in one statement, all or none, and returns one result per input in
 * order. A message whose idempotency key exists already returns the stored message; if
 * its request differs, nothing is written and IdempotencyConflict is thrown. Deadlines
 * default from the database clock: due now, expiring `ttlSeconds` after it is due.
 */
export async function enqueueMessages(
  prisma: PrismaClient,
  messages: NewMessage[],
  ttlSeconds: number,
): Promise<Enqueued[]> {
  const ids = messages.map(() => randomUUID())
  const insert = async (tx: Prisma.TransactionClient): Promise<Enqueued[]> => {
    const inserted = await tx.$queryRaw<MessageRecord[]>`
      INSERT INTO messages (id, recipient, body, type, bytes, max_retries, next_attempt_at,
                            expires_at, metadata, idempotency_key, request_hash)
      SELECT i.id, i.recipient, i.body, i.type, i.bytes, i.max_retries,
             coalesce(i.send_at, now()),
             coalesce(i.expires_at, coalesce(i.send_at, now()) + make_interval(secs => ${ttlSeconds})),
             i.metadata, i.idempotency_key, i.request_hash
      FROM unnest(
        ${ids}::uuid[],
        ${messages.map((m) => m.to)}::text[],
        ${messages.map((m) => m.text)}::text[],
        ${messages.map((m) => m.type)}::text[],
        ${messages.map((m) => m.bytes)}::int[],
        ${messages.map((m) => m.maxRetries)}::int[],
        ${messages.map((m) => m.sendAt ?? null)}::timestamptz[],
        ${messages.map((m) => m.expiresAt ?? null)}::timestamptz[],
        ${messages.map((m) => (m.metadata === undefined ? null : JSON.stringify(m.metadata)))}::jsonb[],
        ${messages.map((m) => m.idempotencyKey ?? null)}::text[],
        ${messages.map((m) => m.requestHash ?? null)}::text[]
      ) AS i(id, recipient, body, type, bytes, max_retries, send_at, expires_at, metadata,
             idempotency_key, request_hash)
      ON CONFLICT (idempotency_key) DO NOTHING
      RETURNING ${MESSAGE_COLUMNS}`
    const byId = new Map(inserted.map((row) => [row.id, row]))
    if (byId.size === messages.length) return ids.map((id) => ({ message: byId.get(id)!, created: true }))

    // Some keys were taken, by an earlier request or by an item earlier in this batch.
    const keys = messages.flatMap((m, index) => (byId.has(ids[index]) ? [] : [m.idempotencyKey!]))
    const existing = await tx.$queryRaw<
      (MessageRecord & { idempotencyKey: string; requestHash: string | null })[]
    >`
      SELECT ${MESSAGE_COLUMNS}, idempotency_key AS "idempotencyKey", request_hash AS "requestHash"
      FROM messages WHERE idempotency_key = ANY(${keys}::text[])`
    const byKey = new Map(
      existing.map(({ idempotencyKey, requestHash, ...row }) => [idempotencyKey, { row, requestHash }]),
    )
    return messages.map((message, index) => {
      const fresh = byId.get(ids[index])
      if (fresh) return { message: fresh, created: true }
      const earlier = byKey.get(message.idempotencyKey!)!
      // The retention job erases the fingerprint with the number: an old key can no longer
      // be compared, and the caller learns nothing from the erased message it gets back.
      if (earlier.requestHash !== null && earlier.requestHash !== message.requestHash) {
        throw new IdempotencyConflict(message.idempotencyKey!)
      }
      return { message: earlier.row, created: false }
    })
  }
  // Without keys nothing can conflict, and the one INSERT is atomic on its own: skip the
  // BEGIN and COMMIT round trips. With keys, a conflict must undo the rows already inserted.
  return messages.some((message) => message.idempotencyKey !== undefined)
    ? prisma.$transaction(insert)
    : insert(prisma)
}
