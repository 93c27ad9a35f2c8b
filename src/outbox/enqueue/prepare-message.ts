import { createHash } from 'node:crypto'
import { measureText, UnsendableText } from '../../sms/message-encoding.ts'
import { InvalidPhoneNumber, normalizePhoneNumber } from '../../sms/phone-number.ts'
import type { NewMessage } from './enqueue.ts'

/** A message as a caller submits it, after schema validation. */
export interface MessageRequest {
  to: string
  text: string
  sendAt?: string
  expiresAt?: string
  maxRetries?: number
  metadata?: Record<string, unknown>
}

/** A request that is well-formed JSON but cannot become a message; `field` says where. */
export class InvalidMessage extends Error {
  override name = 'InvalidMessage'
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`)
  }

  /** The same problem, located inside a larger body (`messages/3/to`). */
  within(path: string): InvalidMessage {
    return new InvalidMessage(`${path}/${this.field}`, this.reason)
  }
}

/**
 * Checks what a schema cannot (a textable number, encodable text, a coherent schedule)
 * and normalises the request into a row to insert. `now` only orders the caller's own
 * timestamps; every deadline the outbox keeps is computed by the database.
 */
export function prepareMessage(
  request: MessageRequest,
  { defaultMaxRetries, smsMaxBytes, idempotencyKey, now = new Date() }: {
    defaultMaxRetries: number
    smsMaxBytes?: number
    idempotencyKey?: string
    now?: Date
  },
): NewMessage {
  let to: string
  let measured: ReturnType<typeof measureText>
  try {
    to = normalizePhoneNumber(request.to)
  } catch (error) {
    if (error instanceof InvalidPhoneNumber) throw new InvalidMessage('to', error.message)
    throw error
  }
  try {
    measured = measureText(request.text, smsMaxBytes)
  } catch (error) {
    if (error instanceof UnsendableText) throw new InvalidMessage('text', error.message)
    throw error
  }
  const sendAt = request.sendAt === undefined ? undefined : new Date(request.sendAt)
  const expiresAt = request.expiresAt === undefined ? undefined : new Date(request.expiresAt)
  if (expiresAt && expiresAt <= now) {
    throw new InvalidMessage('expiresAt', 'must be in the future')
  }
  if (expiresAt && sendAt && expiresAt <= sendAt) {
    throw new InvalidMessage('expiresAt', 'must be after sendAt')
  }
  if (request.metadata !== undefined) checkMetadata(request.metadata)
  if (idempotencyKey?.startsWith(RESERVED_KEY_PREFIX)) {
    throw new InvalidMessage('idempotencyKey', `the prefix "${RESERVED_KEY_PREFIX}" is reserved for /v1/notifications/result-ready`)
  }
  const maxRetries = request.maxRetries ?? defaultMaxRetries
  const message: NewMessage = {
    to,
    text: request.text,
    ...measured,
    maxRetries,
    sendAt,
    expiresAt,
    metadata: request.metadata,
    idempotencyKey,
  }
  if (idempotencyKey !== undefined) message.requestHash = fingerprint(message)
  return message
}

/** Keys of the result-ready notifications; a caller's own key must not claim one. */
export const RESERVED_KEY_PREFIX = 'result-ready:'

// Metadata rides along on every row; a cap keeps the table about messages.
const METADATA_MAX_BYTES = 4_096

// No caller's metadata nests this deep, and JSON.stringify recurses: 30,000 levels of
// brackets fit the 64 KiB body limit and overflowed the stack, a 500 (chaos scenario 23).
const METADATA_MAX_DEPTH = 32

/** How deeply `value` nests, counted level by level without recursion; stops past `limit`. */
function nestingDepth(value: unknown, limit: number): number {
  let depth = 0
  for (let level: unknown[] = [value]; level.length > 0 && depth <= limit; depth += 1) {
    level = level.flatMap((item) => (typeof item === 'object' && item !== null ? Object.values(item) : []))
  }
  return depth
}

function checkMetadata(metadata: Record<string, unknown>): void {
  if (nestingDepth(metadata, METADATA_MAX_DEPTH) > METADATA_MAX_DEPTH) {
    throw new InvalidMessage('metadata', `must not nest deeper than ${METADATA_MAX_DEPTH} levels`)
  }
  let unpaired = false
  const json = JSON.stringify(metadata, (key, value: unknown) => {
    if (LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value))) unpaired = true
    return value
  })
  if (Buffer.byteLength(json) > METADATA_MAX_BYTES) {
    throw new InvalidMessage('metadata', `must be at most ${METADATA_MAX_BYTES} bytes as JSON`)
  }
  // PostgreSQL's jsonb cannot store U+0000, nor half of a surrogate pair (JSON allows both).
  if (json.includes('\\u0000')) throw new InvalidMessage('metadata', 'must not contain U+0000')
  if (unpaired) throw new InvalidMessage('metadata', 'must not contain an unpaired surrogate (\\uD800-\\uDFFF)')
}

const LONE_SURROGATE = /\p{Surrogate}/u

/** Same request, same fingerprint: normalised, so `010-1234-5678` and `+821012345678` match. */
function fingerprint(message: NewMessage): string {
  const canonical = JSON.stringify([
    message.to,
    message.text,
    message.maxRetries,
    message.sendAt?.toISOString() ?? null,
    message.expiresAt?.toISOString() ?? null,
    message.metadata ?? null,
  ])
  return createHash('sha256').update(canonical).digest('hex')
}
