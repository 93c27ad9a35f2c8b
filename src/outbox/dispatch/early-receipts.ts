import type pg from 'pg'
import type { Logger } from 'pino'
import type { Connection } from '../../db/sql-statement.ts'
import { runPeriodically, type PeriodicTask } from '../../periodic-task.ts'
import { reportReceipt, type ReceiptListeners, type RecordedReceipt } from './record-receipts.ts'

/**
 * How long a receipt waits for its message to show the provider's id. An outcome write
 * that the database delays is retried for minutes, not a day; a receipt still unmatched
 * after a day belongs to a send that was never recorded (a call that timed out but went
 * through) or to a message pruned since.
 */
export const EARLY_RECEIPT_HOURS = 24

/** How often a worker looks for early receipts whose message has caught up. */
const EARLY_RECEIPT_INTERVAL_MS = 5_000

/** What one pass did. */
export interface EarlyReceiptPass {
  /** Receipts that changed their message (a message that had a final receipt meanwhile keeps it). */
  applied: (RecordedReceipt & { provider: string })[]
  /** Receipts dropped after EARLY_RECEIPT_HOURS without their message. */
  dropped: number
}

/**
 * Applies the early receipts (record-receipts.ts keeps them) whose message now shows the
 * provider's id, as if they had come just now: the first final receipt still stands, and
 * each one that changed a message is counted and, if undelivered, alerted. Then drops
 * those older than EARLY_RECEIPT_HOURS. Every worker may run it at once: a receipt is
 * taken by the one whose DELETE gets it.
 */
export async function applyEarlyReceipts(db: Connection, listeners: ReceiptListeners): Promise<EarlyReceiptPass> {
  const { rows: applied } = await db.query<RecordedReceipt & { provider: string }>(APPLY_EARLY_RECEIPTS)
  for (const { provider, ...receipt } of applied) reportReceipt(provider, receipt, listeners)
  const { rowCount } = await db.query(DROP_OLD_EARLY_RECEIPTS, [EARLY_RECEIPT_HOURS])
  return { applied, dropped: rowCount ?? 0 }
}

const APPLY_EARLY_RECEIPTS = `
  WITH caught_up AS (
    DELETE FROM sms_outbox.early_receipts e
    USING sms_outbox.messages m
    WHERE m.provider = e.provider AND m.provider_message_id = e.provider_message_id
    RETURNING m.id, e.provider, e.status, e.error_code, e.at
  )
  UPDATE sms_outbox.messages m
  SET delivery_status = c.status,
      delivery_at = c.at,
      delivery_error_code = c.error_code,
      delivery_check_at = NULL
  FROM caught_up c
  WHERE m.id = c.id AND m.delivery_status = 'unknown'
  RETURNING m.id, c.provider, m.recipient AS "to", m.delivery_status AS status, m.delivery_error_code AS "errorCode"`

const DROP_OLD_EARLY_RECEIPTS = `
  DELETE FROM sms_outbox.early_receipts WHERE received_at < now() - $1 * interval '1 hour'`

/** Runs applyEarlyReceipts now and every EARLY_RECEIPT_INTERVAL_MS. */
export function startEarlyReceipts(pool: pg.Pool, { log, ...listeners }: ReceiptListeners & { log: Logger }): PeriodicTask {
  const pass = async () => {
    const { applied, dropped } = await applyEarlyReceipts(pool, listeners)
    if (applied.length > 0) log.info({ applied: applied.length }, `applied ${applied.length} delivery receipts that came before their send was recorded`)
    if (dropped > 0) {
      log.warn({ dropped }, `dropped ${dropped} delivery receipts whose message never showed the provider's id in ${EARLY_RECEIPT_HOURS} h`)
    }
  }
  return runPeriodically(EARLY_RECEIPT_INTERVAL_MS, pass, (error) =>
    log.warn({ err: error }, 'early delivery receipts: a pass failed; trying again at the next interval'),
  )
}
