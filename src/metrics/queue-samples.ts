import type { Logger } from 'pino'
import type { Connection } from '../db/sql-statement.ts'
import { runPeriodically, type PeriodicTask } from '../periodic-task.ts'
import { DUE_MESSAGES } from './outbox-readings.ts'

/** A week of minutes and a day to spare: the admin page charts up to 7 days. */
const KEEP = '8 days'

/**
 * Records the queue of this minute (messages pending or sending, how many are due, how
 * long the oldest due one has waited) unless another worker did already, and drops
 * readings older than 8 days. The counts read the status index and the two due indexes:
 * as cheap as the queue is short. True when this call recorded the minute.
 */
export async function sampleQueue(db: Connection): Promise<boolean> {
  const recorded = await db.query(`
    WITH due AS (${DUE_MESSAGES})
    INSERT INTO sms_outbox.queue_samples (at, queued, due, oldest_due_seconds)
    SELECT date_trunc('minute', now()),
           (SELECT count(*)::int FROM sms_outbox.messages WHERE status IN ('pending', 'sending')),
           count(*)::int,
           coalesce(extract(epoch FROM now() - min(next_attempt_at)), 0)::float8
    FROM due
    ON CONFLICT (at) DO NOTHING`)
  await db.query(`DELETE FROM sms_outbox.queue_samples WHERE at < now() - interval '${KEEP}'`)
  return recorded.rowCount === 1
}

/** Samples the queue now and every `intervalMs` (one reading per minute is kept). */
export function startQueueSampler(db: Connection, { intervalMs, log }: { intervalMs: number; log: Logger }): PeriodicTask {
  return runPeriodically(intervalMs, () => sampleQueue(db), (error) =>
    log.warn({ err: error }, 'queue sample failed; trying again at the next interval'),
  )
}
