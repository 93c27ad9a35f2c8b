import type pg from 'pg'

/** Below this size the outbox is read whole in well under a millisecond, whatever the plan. */
const SMALL_TABLE_BYTES = 256 * 1024

/**
 * Has each connection of a pool plan its prepared statements again, once, before its
 * next statement, when the outbox has grown to twice its size since their plans were
 * made. PostgreSQL keeps a prepared statement's generic plan, costed for the tables as
 * they were when it was made, until a table is next analyzed or truncated: plans made on
 * an empty outbox read `messages` whole. A worker that polled an empty outbox drained the
 * burst that followed on them (3,730-3,860 msg/s against 6,380-6,400), and a service
 * started on an empty outbox under a steady 1,000 msg/s kept them for its first ten
 * seconds, until autovacuum analyzed the table (docs/performance.md). Doubling bounds the
 * refreshes to one per doubling of the table, however it grows.
 * `DISCARD PLANS` keeps the statements and drops only their plans.
 */
export class PlanRefresh {
  readonly #pool: pg.Pool
  #generation = 0
  /** The outbox's size when the plans were made, as far as this pool can tell. */
  #plannedAtBytes: number | undefined
  readonly #plannedIn = new WeakMap<pg.PoolClient, number>()
  readonly #connected = (client: pg.PoolClient) => this.#plannedIn.set(client, this.#generation)
  // 'acquire' comes before the caller has the client, so the DISCARD goes out ahead of
  // the caller's statement. A connection that fails it fails that statement too, which
  // reports the error.
  readonly #acquired = (client: pg.PoolClient) => {
    if (this.#plannedIn.get(client) === this.#generation) return
    this.#plannedIn.set(client, this.#generation)
    client.query('DISCARD PLANS').catch(() => {})
  }

  constructor(pool: pg.Pool) {
    this.#pool = pool
    pool.on('connect', this.#connected)
    pool.on('acquire', this.#acquired)
  }

  /**
   * The outbox's size now (a claim reads it). A smaller table than before (a TRUNCATE,
   * after which PostgreSQL plans again by itself) moves the mark down.
   */
  observeOutboxSize(bytes: number): void {
    if (this.#plannedAtBytes === undefined || bytes < this.#plannedAtBytes) {
      this.#plannedAtBytes = bytes
    } else if (bytes >= 2 * Math.max(this.#plannedAtBytes, SMALL_TABLE_BYTES)) {
      this.#plannedAtBytes = bytes
      this.#generation += 1
    }
  }

  /** Leaves the pool as it was. */
  close(): void {
    this.#pool.off('connect', this.#connected)
    this.#pool.off('acquire', this.#acquired)
  }
}
