import type pg from 'pg'

/**
 * Has each connection of a pool plan its prepared statements again, once, before its
 * next statement after `request()`. PostgreSQL keeps a prepared statement's generic plan,
 * costed for the tables as they were when it was made, until a table is next analyzed or
 * truncated, and then makes it again for the table as it is at that moment: a worker that
 * polled an empty outbox drained the burst that followed with plans that read `messages`
 * whole (3,730-3,860 msg/s against 6,380-6,400; docs/performance.md).
 * `DISCARD PLANS` keeps the statements and drops only their plans.
 */
export class PlanRefresh {
  readonly #pool: pg.Pool
  #generation = 0
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

  request(): void {
    this.#generation += 1
  }

  /** Leaves the pool as it was. */
  close(): void {
    this.#pool.off('connect', this.#connected)
    this.#pool.off('acquire', this.#acquired)
  }
}
