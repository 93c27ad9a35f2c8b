import { Prisma } from '../generated/prisma/client.ts'
import { storedIdempotencyKey } from '../outbox/enqueue/idempotency-key.ts'
import { InvalidPhoneNumber, normalizePhoneNumber } from '../sms/phone-number.ts'

/**
 * What the admin search box finds, read from what was typed:
 * - a UUID: the message with that id, or with that idempotency key (primary key, and the
 *   unique index on idempotency_key);
 * - a phone number, E.164 or Korean domestic: messages to it (messages_recipient_idx), or
 *   the message with that idempotency key;
 * - `key=value`: messages whose metadata has that value at that top-level key;
 * - anything else: the message with that idempotency key, or messages with that value at
 *   any top-level metadata key.
 * Keys are stored hashed (idempotency-key.ts), so the typed key is hashed to look it up.
 * Metadata is not indexed (a GIN index would tax every enqueue for a rare question): a
 * metadata search reads the table, newest first, until the page is full.
 */
export type MessageSearch =
  | { kind: 'id'; value: string; typed: string }
  | { kind: 'number'; e164: string; typed: string }
  | { kind: 'metadata'; key: string; value: string }
  | { kind: 'text'; value: string }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const METADATA_PAIR = /^([A-Za-z0-9_.-]{1,100})=(.+)$/s
const LOOKS_LIKE_A_NUMBER = /^\+?[\d\s().-]{7,20}$/

export function parseSearch(typed: string): MessageSearch {
  const value = typed.trim()
  if (UUID.test(value)) return { kind: 'id', value: value.toLowerCase(), typed: value }
  if (LOOKS_LIKE_A_NUMBER.test(value)) {
    try {
      return { kind: 'number', e164: normalizePhoneNumber(value), typed: value }
    } catch (error) {
      if (!(error instanceof InvalidPhoneNumber)) throw error
    }
  }
  const pair = METADATA_PAIR.exec(value)
  if (pair) return { kind: 'metadata', key: pair[1], value: pair[2] }
  return { kind: 'text', value }
}

export function searchCondition(search: MessageSearch): Prisma.Sql {
  switch (search.kind) {
    case 'id':
      // A key is hashed as it was typed: a client's upper-case UUID stays upper-case.
      return Prisma.sql`(id = ${search.value}::uuid OR idempotency_key = ${storedIdempotencyKey(search.typed)})`
    case 'number':
      // An order number used as the key looks like a phone number too.
      return Prisma.sql`(recipient = ${search.e164} OR idempotency_key = ${storedIdempotencyKey(search.typed)})`
    case 'metadata':
      return Prisma.sql`metadata ->> ${search.key} = ${search.value}`
    case 'text':
      return Prisma.sql`(idempotency_key = ${storedIdempotencyKey(search.value)}
        OR EXISTS (SELECT 1 FROM jsonb_each_text(CASE WHEN jsonb_typeof(metadata) = 'object' THEN metadata END) AS m
                   WHERE m.value = ${search.value}))`
  }
}
