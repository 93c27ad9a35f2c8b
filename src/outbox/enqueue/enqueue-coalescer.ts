import type pg from 'pg'
import { isDatabaseUnavailable } from '../../db/database-unavailable.ts'
import { enqueueEach, type Enqueued, type NewMessage } from './enqueue.ts'
import { groupCommit } from './group-commit.ts'
import type { LocalEnqueues } from './local-enqueues.ts'

export interface EnqueueCoalescer {
  /**
   * Commits one message, together with whatever other callers submitted meanwhile, and
   * resolves once its row is committed. Rejects with IdempotencyConflict when its key
   * came back with a different request, and with RecipientSuppressed when its number is
   * on the suppression list; a refusal or a refused row fails only its own caller.
   */
  enqueue(message: NewMessage, ttlSeconds: number): Promise<Enqueued>
  /** Resolves once every message submitted so far is written or has failed. */
  drain(): Promise<void>
}

// One statement takes at most as many rows as the batch route allows in one request.
const MAX_BATCH = 1_000

/**
 * Group commit for single messages (`POST /v1/messages`): concurrent requests become one
 * multi-row INSERT, one commit, one NOTIFY (or one wake of this process's dispatcher,
 * with `localEnqueues`), instead of one each. A write that the
 * database refuses for a reason of one row's making is retried in halves down to single
 * rows, so that only that row's caller sees the error; an unavailable database fails the
 * whole group at once.
 */
export function createEnqueueCoalescer(pool: pg.Pool, localEnqueues?: LocalEnqueues): EnqueueCoalescer {
  const writer = groupCommit(
    (items: { message: NewMessage; ttlSeconds: number }[]) => {
      const written = enqueueEach(
        pool,
        items.map((item) => item.message),
        items.map((item) => item.ttlSeconds),
      )
      return localEnqueues?.track(written) ?? written
    },
    { maxBatch: MAX_BATCH, splitOnError: (error) => !isDatabaseUnavailable(error) },
  )
  return {
    async enqueue(message, ttlSeconds) {
      const result = await writer.add({ message, ttlSeconds })
      if (result instanceof Error) throw result
      return result
    },
    drain: () => writer.drain(),
  }
}
