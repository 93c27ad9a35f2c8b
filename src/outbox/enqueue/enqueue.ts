import type pg from 'pg'
import { v7 as timeOrderedUuid } from 'uuid'
import { queryPrepared } from '../../db/prepared-statements.ts'
import type { Queryable } from '../../db/queryable.ts'
import type { MessageType } from '../../sms/message-encoding.ts'
import { storedIdempotencyKey } from './idempotency-key.ts'
import type { MessageRecord } from '../message.ts'
import { RecipientSuppressed, type Suppression } from './recipient-suppressed.ts'

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

// Enqueueing is the API's hot path, so its SQL runs on the pg pool under Prisma rather
// than through Prisma's raw queries. Measured here (bench/, 1,000-row inserts): Prisma's
// query engine took 2.4 times the CPU of pg itself and left the heap three times as large
// (152 MB against 55 MB after 100 batches); for one-row inserts, 0.67 ms of CPU against 0.28.

/** The columns of a message, named as MessageRecord names them (pg parses timestamps and JSON). */
const MESSAGE_COLUMNS = `
  id, status, recipient AS "to", body AS "text", type, bytes, attempts,
  max_retries AS "maxRetries", next_attempt_at AS "nextAttemptAt",
  last_error_code AS "lastErrorCode", last_error AS "lastError", provider,
  provider_message_id AS "providerMessageId", metadata, created_at AS "createdAt",
  updated_at AS "updatedAt", sent_at AS "sentAt", expires_at AS "expiresAt", erased_at AS "erasedAt",
  delivery_status AS "deliveryStatus", delivery_at AS "deliveryAt", delivery_error_code AS "deliveryErrorCode"`

// What only the database knows of a row it just inserted: its clock's deadlines. The rest
// of the row is the caller's message and the columns' defaults (insertedRecord). Returning
// whole rows had the API, which waits on one group INSERT at a time, parse fifteen fields
// a row that it already had: 13% of its CPU per message (docs/performance.md).
const INSERTED_COLUMNS = `id, next_attempt_at AS "nextAttemptAt", expires_at AS "expiresAt", created_at AS "createdAt"`

/** A row as INSERT_MESSAGES returns it. */
type InsertedRow = Pick<MessageRecord, 'id' | 'nextAttemptAt' | 'expiresAt' | 'createdAt'>

/** The record of `message`, inserted as `row`: pending, never tried, as the columns' defaults make it. */
function insertedRecord(message: NewMessage, row: InsertedRow): MessageRecord {
  return {
    id: row.id,
    status: 'pending',
    to: message.to,
    text: message.text,
    type: message.type,
    bytes: message.bytes,
    attempts: 0,
    maxRetries: message.maxRetries,
    nextAttemptAt: row.nextAttemptAt,
    lastErrorCode: null,
    lastError: null,
    provider: null,
    providerMessageId: null,
    // As jsonb keeps it, but for the order of keys: jsonb sorts them.
    metadata: message.metadata ?? null,
    createdAt: row.createdAt,
    // Both default to now(), the transaction's start.
    updatedAt: row.createdAt,
    sentAt: null,
    expiresAt: row.expiresAt,
    erasedAt: null,
    deliveryStatus: 'unknown',
    deliveryAt: null,
    deliveryErrorCode: null,
  }
}

// Numbers on the suppression list are left out by the INSERT itself, so the common case
// (nobody suppressed) costs one primary-key probe per row and no extra round trip. With
// $13 (all or none), one suppressed number leaves the whole statement's rows out.
const INSERT_MESSAGES = `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[],
                         $7::timestamptz[], $8::timestamptz[], $9::jsonb[], $10::text[], $11::text[],
                         $12::int[]) WITH ORDINALITY
      AS i(id, recipient, body, type, bytes, max_retries, send_at, expires_at, metadata,
           idempotency_key, request_hash, ttl_seconds, position)
  )
  INSERT INTO sms_outbox.messages (id, recipient, body, type, bytes, max_retries, next_attempt_at,
                        expires_at, metadata, idempotency_key, request_hash)
  SELECT i.id, i.recipient, i.body, i.type, i.bytes, i.max_retries,
         coalesce(i.send_at, now()),
         coalesce(i.expires_at, coalesce(i.send_at, now()) + make_interval(secs => i.ttl_seconds)),
         i.metadata, i.idempotency_key, i.request_hash
  FROM input i
  WHERE NOT EXISTS (SELECT 1 FROM sms_outbox.suppressions s WHERE s.recipient = i.recipient)
    AND NOT ($13::boolean AND EXISTS (SELECT 1 FROM input j JOIN sms_outbox.suppressions s ON s.recipient = j.recipient))
  -- In the callers' order: of two messages with one key, the first is the one written (the
  -- anti-join above may hand rows over in any order).
  ORDER BY i.position
  -- Matches the unique index on the keys alone, and the one on every row that it replaced
  -- (migration 20261207030000_partial_idempotency_index), which a database keeps until
  -- that migration has run.
  ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING ${INSERTED_COLUMNS}`

const FIND_BY_KEYS = `
  SELECT ${MESSAGE_COLUMNS}, idempotency_key AS "idempotencyKey", request_hash AS "requestHash"
  FROM sms_outbox.messages WHERE idempotency_key = ANY($1::text[])`

const FIND_SUPPRESSIONS = `
  SELECT recipient, reason, error_code AS "errorCode", provider, created_at AS "createdAt"
  FROM sms_outbox.suppressions WHERE recipient = ANY($1::text[])`

/**
 * Inserts `messages` with the given ids in one statement, skipping any whose idempotency
 * key is taken (by an earlier request, or by an item earlier in the same statement) and
 * any whose number is suppressed (with `allOrNone`, every one if one is). Returns the rows
 * it inserted, by id. Deadlines default from the database clock: due now, expiring
 * `ttlSeconds[i]` after it is due.
 */
async function insertRows(
  db: Queryable,
  messages: NewMessage[],
  ids: string[],
  ttlSeconds: number[],
  allOrNone: boolean,
): Promise<Map<string, InsertedRow>> {
  const { rows } = await queryPrepared<InsertedRow>(db, 'sms-outbox.insert-messages', INSERT_MESSAGES, [
    ids,
    messages.map((m) => m.to),
    messages.map((m) => m.text),
    messages.map((m) => m.type),
    messages.map((m) => m.bytes),
    messages.map((m) => m.maxRetries),
    messages.map((m) => m.sendAt ?? null),
    messages.map((m) => m.expiresAt ?? null),
    messages.map((m) => (m.metadata === undefined ? null : JSON.stringify(m.metadata))),
    messages.map((m) => (m.idempotencyKey === undefined ? null : storedIdempotencyKey(m.idempotencyKey))),
    messages.map((m) => m.requestHash ?? null),
    ttlSeconds,
    allOrNone,
  ])
  return new Map(rows.map((row) => [row.id, row]))
}

/** The stored messages of the callers' `keys`, by key, with the fingerprints of the requests that made them. */
async function findByKeys(
  db: Queryable,
  keys: string[],
): Promise<Map<string, { row: MessageRecord; requestHash: string | null }>> {
  if (keys.length === 0) return new Map()
  const keyOf = new Map(keys.map((key) => [storedIdempotencyKey(key), key]))
  const { rows } = await db.query<MessageRecord & { idempotencyKey: string; requestHash: string | null }>(FIND_BY_KEYS, [[...keyOf.keys()]])
  return new Map(rows.map(({ idempotencyKey, requestHash, ...row }) => [keyOf.get(idempotencyKey)!, { row, requestHash }]))
}

/** The suppression list's entries for `recipients`, by number. */
async function findSuppressions(db: Queryable, recipients: string[]): Promise<Map<string, Suppression>> {
  if (recipients.length === 0) return new Map()
  const { rows } = await db.query<Suppression>(FIND_SUPPRESSIONS, [recipients])
  return new Map(rows.map((row) => [row.recipient, row]))
}

/** Why enqueue did not take a message; each fails only its own caller (see enqueueEach). */
export type EnqueueRefusal = IdempotencyConflict | RecipientSuppressed

/**
 * What one INSERT made of each message: written, a replay of an earlier key, refused, or
 * `undefined` when it was left out for no reason that still holds (a suppression an admin
 * removed meanwhile, or, all or none, a neighbour's suppressed number); the caller may
 * insert those again.
 */
async function insertOnce(
  db: Queryable,
  messages: NewMessage[],
  ttlSeconds: number[],
  allOrNone: boolean,
): Promise<(Enqueued | EnqueueRefusal | undefined)[]> {
  // Time-ordered ids: a new row's primary-key entry joins the last leaf of the index. A
  // random one dirtied a random leaf of an index as large as the history, and after each
  // checkpoint wrote that whole page to the WAL again.
  const ids = messages.map(() => timeOrderedUuid())
  const byId = await insertRows(db, messages, ids, ttlSeconds, allOrNone)
  if (byId.size === messages.length) return messages.map((message, index) => ({ message: insertedRecord(message, byId.get(ids[index])!), created: true }))
  // The rare path: find out why some were left out. A replay comes first: a request that
  // was accepted before its number was suppressed still gets its message back.
  const missing = messages.filter((_, index) => !byId.has(ids[index]))
  const byKey = await findByKeys(db, missing.flatMap((m) => (m.idempotencyKey === undefined ? [] : [m.idempotencyKey])))
  const unexplained = missing.filter((m) => m.idempotencyKey === undefined || !byKey.has(m.idempotencyKey))
  const suppressed = await findSuppressions(db, [...new Set(unexplained.map((m) => m.to))])
  return messages.map((message, index) => {
    const fresh = byId.get(ids[index])
    if (fresh) return { message: insertedRecord(message, fresh), created: true }
    const earlier = message.idempotencyKey === undefined ? undefined : byKey.get(message.idempotencyKey)
    if (earlier) return replayOf(message, earlier)
    const suppression = suppressed.get(message.to)
    return suppression ? new RecipientSuppressed(suppression) : undefined
  })
}

// A message is left out with no reason found only when an admin removed its number's
// suppression between two statements; two more tries are plenty.
const MAX_INSERT_TRIES = 3

/**
 * Inserts each message on its own terms, in one statement: one result per input, in
 * order, where a message whose idempotency key came back with a different request gets
 * an IdempotencyConflict, one to a suppressed number gets RecipientSuppressed, and their
 * neighbours are unaffected. This is the write behind group commit: the messages come
 * from different callers, so none may fail another. No transaction is needed: the INSERT
 * commits every row it takes at once, and a skipped row's key belongs to a committed row
 * (ON CONFLICT waits for the other writer).
 */
export async function enqueueEach(
  db: Queryable,
  messages: NewMessage[],
  ttlSeconds: number[],
): Promise<(Enqueued | EnqueueRefusal)[]> {
  const results = await insertOnce(db, messages, ttlSeconds, false)
  for (let tries = 1; tries < MAX_INSERT_TRIES && results.includes(undefined); tries += 1) {
    const again = results.flatMap((result, index) => (result === undefined ? [index] : []))
    const retried = await insertOnce(db, again.map((index) => messages[index]), again.map((index) => ttlSeconds[index]), false)
    again.forEach((index, position) => (results[index] = retried[position]))
  }
  if (results.includes(undefined)) throw new Error('enqueue left messages out without a reason, again and again')
  return results as (Enqueued | EnqueueRefusal)[]
}

/** What a message whose key was taken gets: the stored message, or a conflict. */
function replayOf(
  message: NewMessage,
  earlier: { row: MessageRecord; requestHash: string | null },
): Enqueued | IdempotencyConflict {
  // The retention job erases the fingerprint with the number: an old key can no longer
  // be compared, and the caller learns nothing from the erased message it gets back.
  if (earlier.requestHash !== null && earlier.requestHash !== message.requestHash) {
    return new IdempotencyConflict(message.idempotencyKey!)
  }
  return { message: earlier.row, created: false }
}

/**
 * Inserts `messages` in one statement, all or none, and returns one result per input in
 * order. A message whose idempotency key exists already returns the stored message; if
 * its request differs, nothing is written and IdempotencyConflict is thrown. If a number
 * is on the suppression list, nothing is written and RecipientSuppressed is thrown for the
 * first such message, with its `index`. Deadlines default from the database clock: due
 * now, expiring `ttlSeconds` after it is due.
 */
export async function enqueueMessages(pool: pg.Pool, messages: NewMessage[], ttlSeconds: number): Promise<Enqueued[]> {
  // Without keys nothing can conflict, and the one INSERT is all or none on its own (a
  // suppressed number leaves every row out): skip the BEGIN and COMMIT round trips. With
  // keys, a conflict must undo the rows already inserted.
  if (!messages.some((message) => message.idempotencyKey !== undefined)) {
    return insertAllOrNone(pool, messages, ttlSeconds)
  }
  return inTransaction(pool, (client) => insertAllOrNone(client, messages, ttlSeconds))
}

async function insertAllOrNone(db: Queryable, messages: NewMessage[], ttlSeconds: number): Promise<Enqueued[]> {
  const ttls = messages.map(() => ttlSeconds)
  for (let tries = 1; ; tries += 1) {
    const results = await insertOnce(db, messages, ttls, true)
    const refusedAt = results.findIndex((result) => result instanceof Error)
    if (refusedAt >= 0) {
      const refusal = results[refusedAt] as EnqueueRefusal
      throw refusal instanceof RecipientSuppressed ? refusal.atIndex(refusedAt) : refusal
    }
    // Left out with no reason: the suppression that held the statement back is gone, so
    // nothing was inserted (see INSERT_MESSAGES), and the whole batch may go again.
    if (!results.includes(undefined)) return results as Enqueued[]
    if (tries === MAX_INSERT_TRIES) throw new Error('enqueue left messages out without a reason, again and again')
  }
}

/** Runs `work` in a transaction on one client: COMMIT if it resolves, ROLLBACK if it throws. */
async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query('BEGIN')
    const result = await work(client)
    await client.query('COMMIT')
    return result
  } catch (error) {
    // A client whose ROLLBACK fails is in an unknown state: the pool must not hand it out again.
    await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError))
    throw error
  } finally {
    client.release(broken)
  }
}
