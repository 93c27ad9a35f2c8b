import type pg from 'pg'
import type { Enqueued } from './enqueue.ts'

/**
 * The API and a dispatcher in one process (ROLE=all, what `npm start` runs): the API tells
 * the dispatcher itself when it has committed due messages, and the dispatcher skips the
 * insert trigger's NOTIFY from the API's own connections.
 *
 * Why: the NOTIFY reaches the dispatcher only once PostgreSQL has woken the LISTEN
 * connection's backend and that backend has passed it on, after the INSERT itself has
 * answered. At 1,000 msg/s on 2 shared cores it came 0.6 ms after the INSERT's answer at
 * the median and 10 ms at p99 (docs/performance.md), on every message's way out.
 *
 * Every insert into the outbox on `pool` must go through `track`: a notification from one
 * of the pool's connections is dropped, so an insert that bypassed `track` would wait for
 * the dispatcher's next poll (latency, never a lost message).
 */
export class LocalEnqueues {
  readonly #backends = new Set<number>()
  #onDue: () => void = () => {}

  constructor(pool: pg.Pool) {
    // Server process ids, as a notification names its sender (pg sets processID on connect).
    type Connected = pg.PoolClient & { processID: number | null }
    pool.on('connect', (client) => {
      const { processID } = client as Connected
      if (processID !== null) this.#backends.add(processID)
    })
    pool.on('remove', (client) => {
      const { processID } = client as Connected
      if (processID !== null) this.#backends.delete(processID)
    })
  }

  /** Whether a notification came from one of the pool's connections, whose inserts `track` already told of. */
  sentByPool(processId: number): boolean {
    return this.#backends.has(processId)
  }

  /** Called with what a NOTIFY would have woken; one listener, the process's dispatcher. */
  onDue(listener: () => void): void {
    this.#onDue = listener
  }

  /**
   * Resolves as `enqueue` does, once it has committed (or failed), and wakes the dispatcher
   * when that inserted a row due now, as the trigger would notify. A failure wakes it too:
   * the commit may have happened before the connection was lost.
   */
  async track<T extends Enqueued | Error>(enqueue: Promise<T[]>): Promise<T[]> {
    // Woken after this turn's callbacks: the group commit's next INSERT and its callers'
    // answers go first.
    try {
      const results = await enqueue
      if (results.some(insertedDue)) setImmediate(this.#onDue)
      return results
    } catch (error) {
      setImmediate(this.#onDue)
      throw error
    }
  }
}

/** A row this enqueue created that is due at once: not scheduled later (both times are the database's). */
function insertedDue(result: Enqueued | Error): boolean {
  return !(result instanceof Error) && result.created && result.message.nextAttemptAt <= result.message.createdAt
}
