export interface GroupCommitOptions {
  /** Most items in one write; the rest wait for the next. Default: no limit. */
  maxBatch?: number
  /**
   * Whether a failed write of several items should be retried in halves, down to single
   * items, so that an item the database refuses fails only its own caller. Default:
   * never (the whole batch fails). Answer false for errors every item would meet again,
   * such as an unreachable database.
   */
  splitOnError?: (error: unknown) => boolean
  /**
   * A write waits until it carries `items`, or `waitMs` after the first of them came:
   * fewer, larger writes for callers that can wait. Default: no wait, a write starts as
   * soon as the one before it is done.
   */
  fill?: { items: number; waitMs: number }
}

export interface GroupCommit<T, R> {
  /** Resolves with this item's result once the write that carried it has committed. */
  add(item: T): Promise<R>
  /** Resolves once everything added so far is written (or has failed). */
  drain(): Promise<void>
}

/**
 * Turns a function that writes many items in one statement into one that takes a single
 * item. Items that arrive while a write is running wait and go together in the next one,
 * so a busy caller makes a few large writes and an idle one waits for nobody (unless it
 * asked for a `fill`). A write starts at the end of the current turn of the event loop
 * (setImmediate), so that items that arrived together (requests read from many sockets
 * at once) also go together.
 * `write` returns one result per item, in order.
 */
export function groupCommit<T, R>(
  write: (items: T[]) => Promise<R[]>,
  { maxBatch = Number.POSITIVE_INFINITY, splitOnError, fill }: GroupCommitOptions = {},
): GroupCommit<T, R> {
  type Entry = { item: T; resolve: (result: R) => void; reject: (error: unknown) => void }
  let queue: Entry[] = []
  let running = false
  let scheduled = false
  let idle: { promise: Promise<void>; resolve: () => void } | undefined

  /**
   * Writes `batch` (in halves, after a refused write that splitOnError allows) and returns
   * how to tell its callers, so that the next write can go first.
   */
  async function writeBatch(batch: Entry[]): Promise<() => void> {
    try {
      const results = await write(batch.map((entry) => entry.item))
      return () => batch.forEach((entry, index) => entry.resolve(results[index]))
    } catch (error) {
      if (batch.length > 1 && splitOnError?.(error)) {
        // Halves, not single items: one bad item among n costs about 2 log2(n) writes.
        const half = Math.ceil(batch.length / 2)
        const tellFirstHalf = await writeBatch(batch.slice(0, half))
        tellFirstHalf()
        const tellSecondHalf = await writeBatch(batch.slice(half))
        tellSecondHalf()
        return () => {}
      }
      return () => batch.forEach((entry) => entry.reject(error))
    }
  }

  let fillTimer: NodeJS.Timeout | undefined
  let firstQueuedAt = 0

  function pump(waited = false): void {
    if (running || queue.length === 0) return
    if (fill && !waited && queue.length < fill.items) {
      const waitMs = fill.waitMs - (performance.now() - firstQueuedAt)
      if (waitMs > 0) {
        fillTimer ??= setTimeout(() => {
          fillTimer = undefined
          pump(true)
        }, waitMs)
        return
      }
    }
    clearTimeout(fillTimer)
    fillTimer = undefined
    const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch)
    queue = batch === queue ? [] : queue.slice(maxBatch)
    running = true
    void writeBatch(batch).then((tell) => {
      running = false
      // The next write goes to the database before this one's callers hear: their answers
      // (for the API, a socket write and a log line each) are written while it runs, not
      // before it starts. pg's pool hands over an idle connection on the next tick, so the
      // callers are told on the tick after that.
      pump()
      process.nextTick(() => {
        tell()
        settle()
      })
    })
  }

  function settle(): void {
    if (!running && queue.length === 0 && !scheduled && idle) {
      idle.resolve()
      idle = undefined
    }
  }

  return {
    add(item) {
      if (queue.length === 0) firstQueuedAt = performance.now()
      const result = new Promise<R>((resolve, reject) => queue.push({ item, resolve, reject }))
      if (!scheduled) {
        scheduled = true
        setImmediate(() => {
          scheduled = false
          pump()
          settle()
        })
      }
      return result
    },
    drain() {
      if (!running && queue.length === 0 && !scheduled) return Promise.resolve()
      if (!idle) {
        let resolve!: () => void
        const promise = new Promise<void>((done) => (resolve = done))
        idle = { promise, resolve }
      }
      return idle.promise
    },
  }
}
