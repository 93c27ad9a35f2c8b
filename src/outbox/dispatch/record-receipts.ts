import type { Connection } from '../../db/sql-statement.ts'
import type { Alerter } from '../../alerts/alerter.ts'
import type { ReceiptMetrics } from './outcome-metrics.ts'
import type { DeliveryReceipt } from '../../providers/provider.ts'

/** Who hears of a receipt that changed a message. */
export interface ReceiptListeners {
  metrics?: ReceiptMetrics
  alerts?: Alerter
}

/**
 * Records receipts (see recordReceipts) and reports each one that changed a message (see
 * reportReceipt). A repeated receipt changed nothing, so it is neither counted nor alerted
 * twice.
 */
export async function takeReceipts(
  db: Connection,
  provider: string,
  receipts: readonly DeliveryReceipt[],
  listeners: ReceiptListeners,
): Promise<RecordedReceipt[]> {
  const recorded = await recordReceipts(db, provider, receipts)
  for (const receipt of recorded) reportReceipt(provider, receipt, listeners)
  return recorded
}

/** A receipt that changed a message: a count per provider and status, and an alert if undelivered. */
export function reportReceipt(provider: string, receipt: RecordedReceipt, { metrics, alerts }: ReceiptListeners): void {
  metrics?.recordReceipt(provider, receipt.status)
  if (receipt.status === 'undelivered') {
    alerts?.notify({ kind: 'undelivered', messageId: receipt.id, to: receipt.to, provider, errorCode: receipt.errorCode })
  }
}

/** A receipt that changed its message: the first final word on it. */
export interface RecordedReceipt {
  id: string
  /** E.164, or null once the retention job erased it. */
  to: string | null
  status: DeliveryReceipt['status']
  errorCode: string | null
}

/**
 * Writes final delivery receipts of `provider`'s messages, named by the provider's own id.
 * Only a message whose receipt is still `unknown` changes: receipts arrive out of order and
 * more than once, and the first final one stands, so a repeat (or a late `sent` after
 * `delivered`, which callers never pass here) changes nothing. A receipt for an id no row
 * has yet is kept in `early_receipts` (see early-receipts.ts): a pushed receipt can come
 * before the dispatcher records the send. The outbox status is left alone: a receipt never
 * resends anything. Returns the messages that changed, for metrics and alerts.
 */
export async function recordReceipts(
  db: Connection,
  provider: string,
  receipts: readonly DeliveryReceipt[],
): Promise<RecordedReceipt[]> {
  if (receipts.length === 0) return []
  const { rows } = await db.query<RecordedReceipt>(RECORD_RECEIPTS, [
    provider,
    receipts.map((r) => r.providerMessageId),
    receipts.map((r) => r.status),
    receipts.map((r) => (r.status === 'undelivered' ? r.errorCode : null)),
    receipts.map((r) => r.at ?? null),
  ])
  return rows
}

// A provider id twice in one call matches one row twice; PostgreSQL applies one of them,
// and either is a final word. Every part of the statement sees the same snapshot, so a
// receipt is either applied or kept, never both nor neither.
const RECORD_RECEIPTS = `
  WITH receipt AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[])
      AS t(provider_message_id, status, error_code, at)
  ), kept AS (
    INSERT INTO sms_outbox.early_receipts (provider, provider_message_id, status, error_code, at)
    SELECT $1, r.provider_message_id, r.status, r.error_code, coalesce(r.at, now())
    FROM receipt r
    WHERE NOT EXISTS (SELECT 1 FROM sms_outbox.messages m
                      WHERE m.provider = $1 AND m.provider_message_id = r.provider_message_id)
    ON CONFLICT DO NOTHING
  )
  UPDATE sms_outbox.messages m
  SET delivery_status = r.status,
      delivery_at = coalesce(r.at, now()),
      delivery_error_code = r.error_code,
      delivery_check_at = NULL
  FROM receipt r
  WHERE m.provider = $1 AND m.provider_message_id = r.provider_message_id
    AND m.delivery_status = 'unknown'
  RETURNING m.id, m.recipient AS "to", m.delivery_status AS status, m.delivery_error_code AS "errorCode"`
