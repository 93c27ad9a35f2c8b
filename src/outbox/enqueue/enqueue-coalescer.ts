import { appendFileSync } from "node:fs"
import type pg from 'pg'
import { isDatabaseUnavailable } from '../../db/database-unavailable.ts'
import { enqueueEach, type Enqueued, type NewMessage } from './enqueue.ts'
import { groupCommit } from './group-commit.ts'

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
 * multi-row INSERT, one commit, one NOTIFY, instead of one each. A write that the
 * database refuses for a reason of one row's making is retried in halves down to single
 * rows, so that only that row's caller sees the error; an unavailable database fails the
 * whole group at once.
 */
export function createEnqueueCoalescer(pool: pg.Pool): EnqueueCoalescer {
  const durations: number[] = []
  const sizes: number[] = []
  if (process.env.SCRATCH_TIMING) process.on('exit', () => {
    const d = durations.slice(2000).sort((a, b) => a - b), q = (p: number) => d[Math.floor(p * d.length)]?.toFixed(3)
    appendFileSync("/tmp/scratch-timing.txt", `SCRATCH writes ${d.length} p10 ${q(0.1)} p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} rows ${(sizes.reduce((a, b) => a + b, 0) / sizes.length).toFixed(1)}\n`)
  })
  const writer = groupCommit(
    async (items: { message: NewMessage; ttlSeconds: number }[]) => {
      const t0 = performance.now()
      const r = await enqueueEach(
        pool,
        items.map((item) => item.message),
        items.map((item) => item.ttlSeconds),
      )
      durations.push(performance.now() - t0); sizes.push(items.length)
      return r
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
