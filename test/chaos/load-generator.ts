import { Agent, request } from 'undici'

/**
 * What a caller can conclude from one request:
 * - `accepted`: a 2xx; the service promises the row is committed.
 * - `rejected`: a 4xx; nothing was written.
 * - `unknown`: a timeout, a reset, a 5xx: it may or may not have been committed. Only a
 *   replay with the same Idempotency-Key tells.
 * - `refused`: the connection was refused: the request never reached a process.
 */
export type RequestOutcome = 'accepted' | 'rejected' | 'unknown' | 'refused'

/** One try of one request, as the load generator logs it. */
export interface Try {
  outcome: RequestOutcome
  status: number | null
  id: string | undefined
  /** Retry-After of a 503, in seconds. */
  retryAfter: string | undefined
  error: string | undefined
  startedAt: number
  ms: number
}

/** Every try made with one Idempotency-Key. */
export interface KeyLog {
  key: string
  body: Record<string, unknown>
  tries: Try[]
}

export interface LoadOptions {
  /** How many distinct messages (keys) to send. */
  count: number
  concurrency: number
  /** Live API base URLs; asked before every try, so a killed API drops out of rotation. */
  targets: () => string[]
  /** The request body of the i-th message. */
  body: (index: number) => Record<string, unknown>
  /** Keys are `${keyPrefix}-${index}`. */
  keyPrefix: string
  /** A try's client-side timeout (the caller's patience). */
  timeoutMs?: number
  /** Try refused and 503 requests again at once (with the same key) until this deadline. */
  retryUntil?: number
  /** Spread the requests over time instead of sending as fast as possible. */
  ratePerSecond?: number
}

/**
 * The callers: POSTs messages with an Idempotency-Key each and logs, for every try, what
 * came back. The checker reads the log: every accepted id must exist, and a replay of an
 * unknown one must find the original.
 */
export class LoadGenerator {
  readonly logs = new Map<string, KeyLog>()
  readonly #agent = new Agent({ connections: 256, keepAliveTimeout: 10_000, connect: { timeout: 5_000 } })
  #cursor = 0

  async run(options: LoadOptions): Promise<void> {
    const { count, concurrency, ratePerSecond } = options
    const started = performance.now()
    let next = 0
    const worker = async () => {
      while (next < count) {
        const index = next++
        if (ratePerSecond) {
          const due = started + (index / ratePerSecond) * 1000
          const wait = due - performance.now()
          if (wait > 0) await new Promise((done) => setTimeout(done, wait))
        }
        await this.#send(`${options.keyPrefix}-${index}`, options.body(index), options)
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
  }

  /**
   * The same messages through `POST /v1/messages/batch`, `batchSize` at a time, each item
   * with its own idempotency key: the way to put tens of thousands of rows in front of
   * the dispatchers quickly (one keyed POST costs a transaction; a batch shares one).
   * A batch is all or none, so every item of a batch gets that batch's outcome.
   */
  async runBatches(options: LoadOptions & { batchSize: number }): Promise<void> {
    const { count, concurrency, batchSize, timeoutMs = 30_000 } = options
    let next = 0
    const worker = async () => {
      while (next < count) {
        const first = next
        next = Math.min(count, next + batchSize)
        const logs: KeyLog[] = []
        for (let index = first; index < next; index += 1) {
          const log: KeyLog = { key: `${options.keyPrefix}-${index}`, body: options.body(index), tries: [] }
          this.logs.set(log.key, log)
          logs.push(log)
        }
        const startedAt = Date.now()
        const started = performance.now()
        const live = options.targets()
        let results: { status: number | null; ids: string[]; error?: string }
        try {
          const response = await request(`${live[this.#cursor++ % live.length]}/v1/messages/batch`, {
            method: 'POST',
            dispatcher: this.#agent,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ messages: logs.map((log) => ({ ...log.body, idempotencyKey: log.key })) }),
            signal: AbortSignal.timeout(timeoutMs),
          })
          const text = await response.body.text()
          const ok = response.statusCode >= 200 && response.statusCode < 300
          const ids = ok ? (JSON.parse(text) as { messages: { id: string }[] }).messages.map((m) => m.id) : []
          results = { status: response.statusCode, ids, error: ok ? undefined : text.slice(0, 200) }
        } catch (error) {
          results = { status: null, ids: [], error: errorCode(error) ?? String(error) }
        }
        const ms = performance.now() - started
        logs.forEach((log, i) => {
          const status = results.status
          const outcome: RequestOutcome =
            status !== null && status >= 200 && status < 300 ? 'accepted' : status !== null && status < 500 ? 'rejected' : 'unknown'
          log.tries.push({ outcome, status, id: results.ids[i], retryAfter: undefined, error: results.error, startedAt, ms })
        })
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
  }

  /** Sends one key again (its original body) to learn what became of it. */
  async replay(key: string, options: Pick<LoadOptions, 'targets' | 'timeoutMs'>): Promise<Try> {
    const log = this.logs.get(key)!
    return this.#try(log, options)
  }

  /** Keys whose last try was not accepted or rejected. */
  unresolved(): KeyLog[] {
    return [...this.logs.values()].filter((log) => !isFinal(log.tries.at(-1)!.outcome))
  }

  /** Key -> id of every message some try got a 2xx for. */
  acceptedIds(): Map<string, string> {
    const accepted = new Map<string, string>()
    for (const log of this.logs.values()) {
      const id = log.tries.find((t) => t.outcome === 'accepted')?.id
      if (id) accepted.set(log.key, id)
    }
    return accepted
  }

  /** How many keys ended in each outcome, and how many tries of each kind were made. */
  summary(): { keys: number; accepted: number; rejected: number; unresolved: number; tries: Record<RequestOutcome, number> } {
    const tries: Record<RequestOutcome, number> = { accepted: 0, rejected: 0, unknown: 0, refused: 0 }
    let accepted = 0
    let rejected = 0
    for (const log of this.logs.values()) {
      for (const t of log.tries) tries[t.outcome] += 1
      if (log.tries.some((t) => t.outcome === 'accepted')) accepted += 1
      else if (log.tries.at(-1)!.outcome === 'rejected') rejected += 1
    }
    return { keys: this.logs.size, accepted, rejected, unresolved: this.unresolved().length, tries }
  }

  async close(): Promise<void> {
    await this.#agent.close()
  }

  async #send(key: string, body: Record<string, unknown>, options: LoadOptions): Promise<void> {
    const log: KeyLog = { key, body, tries: [] }
    this.logs.set(key, log)
    for (;;) {
      const result = await this.#try(log, options)
      const retry =
        (result.outcome === 'refused' || result.status === 503) &&
        options.retryUntil !== undefined &&
        Date.now() < options.retryUntil
      if (!retry) return
      await new Promise((done) => setTimeout(done, 100))
    }
  }

  async #try(log: KeyLog, { targets, timeoutMs = 10_000 }: Pick<LoadOptions, 'targets' | 'timeoutMs'>): Promise<Try> {
    const live = targets()
    const startedAt = Date.now()
    const started = performance.now()
    const done = (fields: Omit<Try, 'startedAt' | 'ms'>): Try => {
      const result = { ...fields, startedAt, ms: performance.now() - started }
      log.tries.push(result)
      return result
    }
    if (live.length === 0) return done({ outcome: 'refused', status: null, id: undefined, retryAfter: undefined, error: 'no API running' })
    const target = live[this.#cursor++ % live.length]
    try {
      const response = await request(`${target}/v1/messages`, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { 'content-type': 'application/json', 'idempotency-key': log.key },
        body: JSON.stringify(log.body),
        signal: AbortSignal.timeout(timeoutMs),
      })
      const text = await response.body.text()
      const status = response.statusCode
      const retryAfter = response.headers['retry-after'] as string | undefined
      if (status >= 200 && status < 300) {
        return done({ outcome: 'accepted', status, id: (JSON.parse(text) as { id: string }).id, retryAfter, error: undefined })
      }
      if (status >= 400 && status < 500) return done({ outcome: 'rejected', status, id: undefined, retryAfter, error: text.slice(0, 200) })
      return done({ outcome: 'unknown', status, id: undefined, retryAfter, error: text.slice(0, 200) })
    } catch (error) {
      const code = errorCode(error)
      const outcome = code === 'ECONNREFUSED' ? 'refused' : 'unknown'
      return done({ outcome, status: null, id: undefined, retryAfter: undefined, error: code ?? String(error) })
    }
  }
}

function isFinal(outcome: RequestOutcome): boolean {
  return outcome === 'accepted' || outcome === 'rejected'
}

function errorCode(error: unknown): string | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') return code
    if (current.name === 'TimeoutError' || current.name === 'AbortError') return 'TIMEOUT'
  }
  return undefined
}

/** A Korean mobile number per index, distinct for the first 10^8 messages. */
export function phoneNumberOf(index: number): string {
  return `+8210${String(10_000_000 + (index % 90_000_000)).padStart(8, '0')}`
}
