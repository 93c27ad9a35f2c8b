import type pg from 'pg'
import type { Logger } from 'pino'
import type { SmsProvider } from '../../providers/provider.ts'
import { takeReceipts, type ReceiptListeners } from './record-receipts.ts'

export interface ReceiptPollerOptions extends ReceiptListeners {
  pool: pg.Pool
  /** A provider with `checkDeliveries` (SOLAPI). */
  provider: SmsProvider
  log: Logger
  /** RECEIPT_POLL_INTERVAL_MS: between two questions about one message. */
  intervalMs: number
  /** MESSAGE_TTL_SECONDS: a message sent longer ago than this is asked about one last time. */
  ttlSeconds: number
  /** Messages claimed per pass at most. */
  batchSize: number
  /** One provider call. */
  timeoutMs: number
}

/** What one pass did. */
export interface PollSummary {
  /** Messages asked about. */
  asked: number
  /** Of those, the ones whose final receipt this pass recorded. */
  recorded: number
}

// A pass at least this often, so that a message due now waits a few seconds, not an interval.
const MAX_PASS_GAP_MS = 5_000

/**
 * Asks the provider for the delivery results of messages it took, until each has a final
 * one or is older than MESSAGE_TTL_SECONDS. Every process running it shares the work
 * through `messages.delivery_check_at`: a pass claims due rows with FOR UPDATE SKIP LOCKED
 * and, in the same statement, moves their next check one interval on, so no other poller
 * asks about them meanwhile; a final receipt clears the column. A pass that fails (the
 * provider is down, the process dies) leaves its rows due again one interval later, but
 * for messages past their TTL: those had their last question, and stay `unknown`.
 */
export class ReceiptPoller {
  readonly #options: ReceiptPollerOptions
  #stopping = false
  #loop: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  #wakeUp: (() => void) | undefined
  /** The last pass got no answer at all: a full batch then is no reason to ask again at once. */
  #unanswered = false

  constructor(options: ReceiptPollerOptions) {
    if (!options.provider.checkDeliveries) throw new Error(`the ${options.provider.name} provider has no receipts to poll`)
    this.#options = options
  }

  /** One pass: claim due messages, ask the provider about them, record the final answers. */
  async pollOnce(): Promise<PollSummary> {
    const { pool, provider, log, batchSize, timeoutMs } = this.#options
    const ids = await this.#claimDue()
    let recorded = 0
    let answered = 0
    const perCall = Math.max(1, provider.receiptBatchLimit ?? batchSize)
    for (let start = 0; start < ids.length; start += perCall) {
      const chunk = ids.slice(start, start + perCall)
      try {
        const receipts = await provider.checkDeliveries!(chunk, AbortSignal.timeout(timeoutMs))
        recorded += (await takeReceipts(pool, provider.name, receipts, this.#options)).length
        answered += 1
      } catch (error) {
        log.warn({ err: error, messages: chunk.length }, `delivery receipts: asking ${provider.name} failed; asking again later`)
      }
    }
    this.#unanswered = ids.length > 0 && answered === 0
    return { asked: ids.length, recorded }
  }

  start(): void {
    this.#loop ??= this.#run()
  }

  async stop(): Promise<void> {
    this.#stopping = true
    clearTimeout(this.#timer)
    this.#wakeUp?.()
    await this.#loop
  }

  async #run(): Promise<void> {
    const { log, intervalMs, batchSize } = this.#options
    while (!this.#stopping) {
      let full = false
      try {
        // While the provider answers nothing, a backlog waits for the next pass, not a loop.
        full = (await this.pollOnce()).asked >= batchSize && !this.#unanswered
      } catch (error) {
        log.warn({ err: error }, 'delivery receipts: a poll pass failed')
      }
      if (full || this.#stopping) continue
      await new Promise<void>((wake) => {
        this.#wakeUp = wake
        this.#timer = setTimeout(wake, Math.min(intervalMs, MAX_PASS_GAP_MS))
      })
      this.#wakeUp = undefined
    }
  }

  /** The provider ids of due messages, now claimed until one interval from now. */
  async #claimDue(): Promise<string[]> {
    const { pool, provider, batchSize, intervalMs, ttlSeconds } = this.#options
    const { rows } = await pool.query<{ providerMessageId: string }>(CLAIM_DUE, [provider.name, batchSize, ttlSeconds, intervalMs])
    return rows.map((row) => row.providerMessageId)
  }
}

// A message past its TTL is asked about this once more, then never again (NULL).
const CLAIM_DUE = `
  WITH due AS (
    SELECT id FROM sms_outbox.messages
    WHERE delivery_check_at <= now() AND provider = $1
    ORDER BY delivery_check_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  )
  UPDATE sms_outbox.messages m
  SET delivery_check_at = CASE WHEN m.sent_at + $3 * interval '1 second' > now()
                               THEN now() + $4 * interval '1 millisecond' END
  FROM due
  WHERE m.id = due.id
  RETURNING m.provider_message_id AS "providerMessageId"`
