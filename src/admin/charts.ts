import type { PrismaClient } from '../db/database.ts'
import { Prisma } from '../generated/prisma/client.ts'

/** A chart's span: the last hour by minute, or the last 7 days by hour. */
export type ChartRange = 'hour' | 'week'

const SPANS: Record<ChartRange, { unit: string; step: string; buckets: number }> = {
  hour: { unit: 'minute', step: '1 minute', buckets: 60 },
  week: { unit: 'hour', step: '1 hour', buckets: 7 * 24 },
}

/** Series side by side, one value per bucket; `at` is each bucket's start, oldest first. */
export interface ChartSeries<K extends string> {
  at: Date[]
  series: Record<K, (number | null)[]>
}

// Every status the CHECK constraint allows: with status = ANY(all of them), the accepted
// count reads messages_status_created_idx once per status instead of the whole table.
const EVERY_STATUS = ['pending', 'sending', 'sent', 'dead', 'expired', 'canceled']

/** The buckets of `range`, ending with the current (partial) one, from the database clock. */
function bucketsOf(range: ChartRange) {
  const { unit, step, buckets } = SPANS[range]
  const first = Prisma.sql`date_trunc(${unit}, now()) - ${buckets - 1} * ${step}::interval`
  return { unit, step, first }
}

/**
 * Messages accepted, sent, dead and expired per bucket. Each is a range scan of an index:
 * accepted by created_at (messages_status_created_idx), sent by sent_at
 * (messages_sent_at_idx), dead and expired by when they ended (messages_failed_at_idx),
 * undelivered by when the receipt said so (messages_undelivered_at_idx). A message that
 * died and was retried no longer counts as dead.
 */
export async function throughputChart(
  prisma: PrismaClient,
  range: ChartRange,
): Promise<ChartSeries<'accepted' | 'sent' | 'dead' | 'expired' | 'undelivered'>> {
  const { unit, step, first } = bucketsOf(range)
  const rows = await prisma.$queryRaw<{ at: Date; accepted: number; sent: number; dead: number; expired: number; undelivered: number }[]>`
    WITH buckets AS (
      SELECT generate_series(${first}, date_trunc(${unit}, now()), ${step}::interval) AS at
    ), accepted AS (
      SELECT date_trunc(${unit}, created_at) AS at, count(*)::int AS n FROM sms_outbox.messages
      WHERE status = ANY(${EVERY_STATUS}::text[]) AND created_at >= ${first} GROUP BY 1
    ), sent AS (
      SELECT date_trunc(${unit}, sent_at) AS at, count(*)::int AS n FROM sms_outbox.messages
      WHERE status = 'sent' AND sent_at >= ${first} GROUP BY 1
    ), failed AS (
      SELECT date_trunc(${unit}, updated_at) AS at,
             count(*) FILTER (WHERE status = 'dead')::int AS dead,
             count(*) FILTER (WHERE status = 'expired')::int AS expired
      FROM sms_outbox.messages WHERE status IN ('dead', 'expired') AND updated_at >= ${first} GROUP BY 1
    ), undelivered AS (
      SELECT date_trunc(${unit}, delivery_at) AS at, count(*)::int AS n FROM sms_outbox.messages
      WHERE delivery_status = 'undelivered' AND delivery_at >= ${first} GROUP BY 1
    )
    SELECT b.at, coalesce(accepted.n, 0) AS accepted, coalesce(sent.n, 0) AS sent,
           coalesce(failed.dead, 0) AS dead, coalesce(failed.expired, 0) AS expired,
           coalesce(undelivered.n, 0) AS undelivered
    FROM buckets b
    LEFT JOIN accepted USING (at) LEFT JOIN sent USING (at) LEFT JOIN failed USING (at)
    LEFT JOIN undelivered USING (at)
    ORDER BY b.at`
  return {
    at: rows.map((row) => row.at),
    series: {
      accepted: rows.map((row) => row.accepted),
      sent: rows.map((row) => row.sent),
      dead: rows.map((row) => row.dead),
      expired: rows.map((row) => row.expired),
      undelivered: rows.map((row) => row.undelivered),
    },
  }
}

/**
 * Provider latency per bucket: the median and 99th percentile of the finished attempts
 * started in it (message_attempts_started_at_idx, which carries latency_ms). Null where no
 * attempt finished.
 */
export async function latencyChart(prisma: PrismaClient, range: ChartRange): Promise<ChartSeries<'p50' | 'p99'>> {
  const { unit, step, first } = bucketsOf(range)
  const rows = await prisma.$queryRaw<{ at: Date; p50: number | null; p99: number | null }[]>`
    WITH buckets AS (
      SELECT generate_series(${first}, date_trunc(${unit}, now()), ${step}::interval) AS at
    ), latency AS (
      SELECT date_trunc(${unit}, started_at) AS at,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99
      FROM sms_outbox.message_attempts WHERE started_at >= ${first} AND latency_ms IS NOT NULL GROUP BY 1
    )
    SELECT b.at, round(latency.p50)::int AS p50, round(latency.p99)::int AS p99
    FROM buckets b LEFT JOIN latency USING (at)
    ORDER BY b.at`
  return { at: rows.map((row) => row.at), series: { p50: rows.map((row) => row.p50), p99: rows.map((row) => row.p99) } }
}

/**
 * The queue per bucket, from the readings workers take once a minute (queue-samples.ts):
 * for the week, each hour's largest. Null where no worker ran.
 */
export async function queueChart(
  prisma: PrismaClient,
  range: ChartRange,
): Promise<ChartSeries<'queued' | 'due' | 'oldestDueSeconds'>> {
  const { unit, step, first } = bucketsOf(range)
  const rows = await prisma.$queryRaw<{ at: Date; queued: number | null; due: number | null; oldestDueSeconds: number | null }[]>`
    WITH buckets AS (
      SELECT generate_series(${first}, date_trunc(${unit}, now()), ${step}::interval) AS at
    ), samples AS (
      SELECT date_trunc(${unit}, at) AS at, max(queued) AS queued, max(due) AS due,
             max(oldest_due_seconds) AS oldest
      FROM sms_outbox.queue_samples WHERE at >= ${first} GROUP BY 1
    )
    SELECT b.at, s.queued, s.due, round(s.oldest)::int AS "oldestDueSeconds"
    FROM buckets b LEFT JOIN samples s USING (at)
    ORDER BY b.at`
  return {
    at: rows.map((row) => row.at),
    series: {
      queued: rows.map((row) => row.queued),
      due: rows.map((row) => row.due),
      oldestDueSeconds: rows.map((row) => row.oldestDueSeconds),
    },
  }
}

/** The statuses an admin watches; their rows are few, however many were sent. */
export const WATCHED_STATUSES = ['pending', 'sending', 'dead', 'expired']

/**
 * Messages per status of `statuses`, from messages_status_created_idx (status first): as
 * cheap as those statuses are rare. Counting every sent message reads the whole table.
 */
export async function countByStatus(prisma: PrismaClient, statuses: string[]): Promise<Record<string, number>> {
  const rows = await prisma.$queryRaw<{ status: string; count: number }[]>`
    SELECT status, count(*)::int AS count FROM sms_outbox.messages WHERE status = ANY(${statuses}::text[]) GROUP BY status`
  return Object.fromEntries(statuses.map((status) => [status, rows.find((row) => row.status === status)?.count ?? 0]))
}
