/** Polls `condition` every `intervalMs`; throws after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
  intervalMs = 20,
): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`)
    await sleep(intervalMs)
  }
}

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms))

/** The q-quantile (0..1) of `values` by the nearest-rank method. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

/**
 * The most of `times` (milliseconds) inside any one-second window, sliding over every
 * time: how hard a rate-limited provider was pressed, as its own ledger shows it.
 */
export function busiestSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  let from = 0
  for (let to = 0; to < sorted.length; to += 1) {
    while (sorted[to] - sorted[from] >= 1_000) from += 1
    most = Math.max(most, to - from + 1)
  }
  return most
}

/** Rounds for the report: 3 significant digits is all a noisy 2-core machine can claim. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value
  return Number(value.toPrecision(3))
}
