import type { Logger } from 'pino'
import type { PrismaClient } from '../db/database.ts'

const TERMINAL = ['sent', 'dead', 'expired', 'canceled']

/**
 * Erases the number, the text and the request fingerprint (a hash of the number) of up
 * to `limit` terminal messages that ended more than `retentionHours` ago. Status,
 * timestamps, error codes and attempts stay, so statistics survive. A row that is not
 * terminal is never touched, whatever its age. Returns how many rows it erased.
 */
export async function eraseOldPersonalData(
  prisma: PrismaClient,
  { retentionHours, limit }: { retentionHours: number; limit: number },
): Promise<number> {
  return prisma.$executeRaw`
    UPDATE sms_outbox.messages SET recipient = NULL, body = NULL, request_hash = NULL, erased_at = now()
    WHERE id IN (
      SELECT id FROM sms_outbox.messages
      WHERE status = ANY(${TERMINAL}::text[]) AND erased_at IS NULL
        AND updated_at < now() - make_interval(hours => ${retentionHours})
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    )`
}

/**
 * Erases the number from admin actions on the suppression list (suppress, unsuppress)
 * older than `retentionHours`; their `detail` keeps the masked number. The suppression
 * list itself is never erased: it holds numbers on purpose, until an admin removes them,
 * since forgetting an opt-out would text someone who said STOP. Returns how many it erased.
 */
export async function eraseOldAdminActionNumbers(
  prisma: PrismaClient,
  { retentionHours }: { retentionHours: number },
): Promise<number> {
  // Admin actions are few (people clicking), so one statement takes them all.
  return prisma.$executeRaw`
    UPDATE sms_outbox.admin_actions SET recipient = NULL
    WHERE recipient IS NOT NULL AND at < now() - make_interval(hours => ${retentionHours})`
}

export interface RetentionJob {
  /** Waits for a run in progress, then stops. */
  stop(): Promise<void>
}

/**
 * Runs the erasure now and every `intervalMs`, in batches so that no statement holds
 * many row locks for long. Every worker may run it: SKIP LOCKED keeps them apart.
 */
export function startRetention(
  prisma: PrismaClient,
  { retentionHours, intervalMs, log, batchSize = 1_000 }: {
    retentionHours: number
    intervalMs: number
    log: Logger
    batchSize?: number
  },
): RetentionJob {
  let running: Promise<void> | undefined
  let stopped = false
  const run = async () => {
    let erased = 0
    try {
      let batch: number
      do {
        batch = await eraseOldPersonalData(prisma, { retentionHours, limit: batchSize })
        erased += batch
      } while (batch === batchSize && !stopped)
      const actions = await eraseOldAdminActionNumbers(prisma, { retentionHours })
      if (actions > 0) log.info({ actions }, `erased the numbers of ${actions} suppression admin actions older than ${retentionHours} h`)
    } catch (error) {
      log.warn({ err: error }, 'retention run failed; trying again at the next interval')
    }
    if (erased > 0) log.info({ erased }, `erased number and text of ${erased} messages older than ${retentionHours} h`)
  }
  const tick = () => {
    running ??= run().finally(() => (running = undefined))
  }
  tick()
  const timer = setInterval(tick, intervalMs)
  timer.unref()
  return {
    async stop() {
      stopped = true
      clearInterval(timer)
      await running
    },
  }
}
