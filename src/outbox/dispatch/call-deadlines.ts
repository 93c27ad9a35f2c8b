import { setMaxListeners } from 'node:events'

/**
 * The abort signals of provider calls (PROVIDER_TIMEOUT_MS). Calls that start within the
 * same hundredth of the timeout (10 ms at most) share one signal, made for the first of
 * them: a call then has between 99% and all of the timeout, never more, so a lease sized
 * for the timeout still outlasts it. A signal and its timer per call were a few percent
 * of the dispatcher's CPU at one message per call (bench `dispatch`).
 */
export class CallDeadlines {
  readonly #timeoutMs: number
  readonly #shareWithinMs: number
  readonly #now: () => number
  #signal: AbortSignal | undefined
  #madeAt = Number.NEGATIVE_INFINITY

  /** `now` is the process's clock; tests pass their own. */
  constructor(timeoutMs: number, now: () => number = () => performance.now()) {
    this.#timeoutMs = timeoutMs
    this.#now = now
    this.#shareWithinMs = Math.min(10, timeoutMs / 100)
  }

  /** The signal for a call that starts now. */
  next(): AbortSignal {
    const now = this.#now()
    if (this.#signal === undefined || now - this.#madeAt >= this.#shareWithinMs) {
      this.#signal = AbortSignal.timeout(this.#timeoutMs)
      // Every call in flight listens to it; that is no leak.
      setMaxListeners(0, this.#signal)
      this.#madeAt = now
    }
    return this.#signal
  }
}
