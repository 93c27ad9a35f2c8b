import { createHash } from 'node:crypto'

/**
 * What `messages.idempotency_key` holds for a caller's key: its SHA-256 in hex, never the
 * key itself. Callers put order numbers, user ids and phone numbers into keys, and a key
 * must go on deduplicating after the retention job erased everything personal about its
 * message, so the only form ever stored is one that says nothing. In SQL the same value is
 * `encode(sha256(convert_to(key, 'UTF8')), 'hex')`.
 */
export function storedIdempotencyKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex')
}
