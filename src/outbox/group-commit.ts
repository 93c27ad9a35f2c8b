/**
 * Turns a function that writes many items in one statement into one that takes a single
 * item. Items that arrive while a write is running wait and go together in the next one,
 * so a busy dispatcher makes a few large writes and an idle one waits for nobody.
 * `write` returns one result per item, in order.
 */
export function groupCommit<T, R>(write: (items: T[]) => Promise<R[]>): {
  add(item: T): Promise<R>
  /** Resolves once everything added so far is written (or has failed). */
  drain(): Promise<void>
} {
  let queue: { item: T; resolve: (result: R) => void; reject: (error: unknown) => void }[] = []
  let running: Promise<void> | undefined

  async function run(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue
      queue = []
      try {
        const results = await write(batch.map((entry) => entry.item))
        batch.forEach((entry, index) => entry.resolve(results[index]))
      } catch (error) {
        for (const entry of batch) entry.reject(error)
      }
    }
    running = undefined
  }

  return {
    add(item) {
      const result = new Promise<R>((resolve, reject) => queue.push({ item, resolve, reject }))
      running ??= run()
      return result
    },
    async drain() {
      while (running) await running
    },
  }
}
