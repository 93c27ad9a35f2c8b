import type pg from 'pg'
import type { FakeProvider } from './fake-provider.ts'

/**
 * The figures every scenario reports. The invariants: all zero but `dup`, and every
 * duplicate explained by an ambiguous attempt of the same message.
 */
export interface CheckerFigures {
  /** Accepted ids (a 2xx, or a row the harness inserted itself) with no row. */
  lost: number
  /** Rows not in a terminal state after the queue drained plus one lease. */
  stranded: number
  /** Provider receipts minus distinct messages received. */
  dup: number
  /** Receipts of a message beyond 1 + its ambiguous attempts: a duplicate nothing explains. */
  dup_unexplained: number
  /** Provider requests for messages never accepted. */
  unexpected: number
  /** Rows marked sent that the provider never received. */
  sent_without_receipt: number
}

export interface CheckerReport extends CheckerFigures {
  rows: number
  sent: number
  dead: number
  expired: number
  receipts: number
  ambiguous_attempts: number
}

export const TERMINAL_STATUSES = ['sent', 'dead', 'expired', 'canceled']

/**
 * Waits until no row is pending or sending (or `timeoutMs` passes), then one lease more:
 * a dispatcher that was still holding a row, or a late send, shows up in that time.
 */
export async function waitForDrain(pool: pg.Pool, { leaseMs, timeoutMs }: { leaseMs: number; timeoutMs: number }): Promise<{ drainedMs: number; drained: boolean }> {
  const started = performance.now()
  const deadline = started + timeoutMs
  for (;;) {
    const { rows } = await pool.query<{ open: number }>(
      `SELECT count(*)::int AS open FROM sms_outbox.messages WHERE status IN ('pending', 'sending')`,
    )
    if (rows[0].open === 0) break
    if (performance.now() > deadline) return { drainedMs: performance.now() - started, drained: false }
    await new Promise((done) => setTimeout(done, 200))
  }
  const drainedMs = performance.now() - started
  await new Promise((done) => setTimeout(done, leaseMs))
  return { drainedMs, drained: true }
}

/**
 * Compares the three records of what happened: the callers' (accepted ids), the
 * database's (rows and attempts) and the provider's (its ledger).
 */
export async function checkOutbox(pool: pg.Pool, provider: FakeProvider, accepted: Iterable<string>): Promise<CheckerReport> {
  const acceptedIds = new Set(accepted)
  const { rows } = await pool.query<{ id: string; status: string; ambiguous: number }>(`
    SELECT m.id, m.status, count(a.*) FILTER (WHERE a.outcome = 'ambiguous')::int AS ambiguous
    FROM sms_outbox.messages m LEFT JOIN sms_outbox.message_attempts a ON a.message_id = m.id
    GROUP BY m.id`)
  const byId = new Map(rows.map((row) => [row.id, row]))
  const delivered = provider.deliveredPerId

  let lost = 0
  for (const id of acceptedIds) if (!byId.has(id)) lost += 1
  let stranded = 0
  let sentWithoutReceipt = 0
  let ambiguousAttempts = 0
  const counts = { sent: 0, dead: 0, expired: 0 }
  for (const row of rows) {
    if (!TERMINAL_STATUSES.includes(row.status)) stranded += 1
    if (row.status === 'sent' && !delivered.get(row.id)) sentWithoutReceipt += 1
    if (row.status in counts) counts[row.status as keyof typeof counts] += 1
    ambiguousAttempts += row.ambiguous
  }
  let dup = 0
  let dupUnexplained = 0
  let receipts = 0
  for (const [id, count] of delivered) {
    receipts += count
    dup += count - 1
    dupUnexplained += Math.max(0, count - 1 - (byId.get(id)?.ambiguous ?? 0))
  }
  let unexpected = 0
  for (const id of provider.requestsPerId.keys()) if (!acceptedIds.has(id)) unexpected += 1

  return {
    lost,
    stranded,
    dup,
    dup_unexplained: dupUnexplained,
    unexpected,
    sent_without_receipt: sentWithoutReceipt,
    rows: rows.length,
    ...counts,
    receipts,
    ambiguous_attempts: ambiguousAttempts,
  }
}

/** Percentile `p` (0-100) of `values`, nearest rank; 0 for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}
