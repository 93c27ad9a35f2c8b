/**
 * This process's reading of the database's clock, from the times its statements report.
 * Claims carry deadlines in the database's time, and a dispatcher's own clock may be off
 * by any amount (chaos scenario 16); the offset is measured against the monotonic clock,
 * so a step of the wall clock does not move it.
 */
export class DatabaseClock {
  #offsetMs: number | undefined
  readonly #now: () => number

  constructor(now: () => number = () => performance.now()) {
    this.#now = now
  }

  /** A statement sent at `sentAt` and answered at `answeredAt` (on the clock this one was made with) ran at `databaseTime`. */
  observe(databaseTime: Date, sentAt: number, answeredAt: number): void {
    this.#offsetMs = databaseTime.getTime() - (sentAt + answeredAt) / 2
  }

  /** The database's time `ms` from now; undefined until a statement has reported one. */
  inMs(ms: number): Date | undefined {
    return this.#offsetMs === undefined ? undefined : new Date(this.#now() + this.#offsetMs + ms)
  }
}
