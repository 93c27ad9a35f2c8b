// Preloaded into a service process (NODE_OPTIONS=--import) by scenario 16: shifts the
// process's wall clock by CHAOS_CLOCK_OFFSET_MS, as an unsynchronised host would. Timers
// and performance.now() are untouched, as they are on such a host.
const offsetMs = Number(process.env.CHAOS_CLOCK_OFFSET_MS ?? 0)
const RealDate = Date

class SkewedDate extends RealDate {
  constructor(...args: unknown[]) {
    if (args.length === 0) super(RealDate.now() + offsetMs)
    else super(...(args as [string | number | Date]))
  }

  static override now(): number {
    return RealDate.now() + offsetMs
  }
}

globalThis.Date = SkewedDate as DateConstructor
