/**
 * Wraps `load` so that callers share one reading: while it is in flight, and for
 * `maxAgeMs` after it succeeded. A Prometheus scrape asks once per gauge, so without this
 * one scrape would run the same query several times; with a `maxAgeMs`, however many
 * scrapers there are, the query runs at most once per `maxAgeMs`. A failed reading is
 * dropped at once, so the next scrape tries again instead of repeating the failure.
 */
export function sharedReading<T>(load: () => Promise<T>, { maxAgeMs }: { maxAgeMs: number }): () => Promise<T> {
  let reading: Promise<T> | undefined
  /** undefined while `reading` is in flight */
  let succeededAt: number | undefined
  return () => {
    const fresh = reading && (succeededAt === undefined || performance.now() - succeededAt < maxAgeMs)
    if (reading && fresh) return reading
    const started = load()
    reading = started
    succeededAt = undefined
    started.then(
      () => {
        if (reading === started) succeededAt = performance.now()
      },
      () => {
        if (reading === started) reading = undefined
      },
    )
    return started
  }
}
