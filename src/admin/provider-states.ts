import type { PrismaClient } from '../db/database.ts'

/** One provider as the admin page's providers panel shows it. */
export interface ProviderState {
  provider: string
  pause: {
    errorCode: string
    reason: string
    pausedAt: Date
    /** The admin who paused it by hand; null when a dispatcher did after an account error. */
    pausedBy: string | null
    /** Null for a pause made by hand: it is never probed. */
    nextProbeAt: Date | null
    probes: number
  } | null
  /** Claims in the last 60 seconds, estimated as the claim statement does (claim-due.ts). */
  lastMinute: { firstAttempts: number; retries: number }
}

/**
 * Every provider with a shared-limits row (the migration makes one for each): its pause,
 * and what it claimed in the last minute, from which the retry budget in use follows.
 */
export async function providerStates(prisma: PrismaClient): Promise<ProviderState[]> {
  const rows = await prisma.$queryRaw<
    {
      provider: string
      errorCode: string | null
      reason: string | null
      pausedAt: Date | null
      pausedBy: string | null
      nextProbeAt: Date | null
      probes: number | null
      firstAttempts: number
      retries: number
    }[]
  >`
    WITH limits AS (
      SELECT provider,
        CASE WHEN window_started_at > now() - interval '1 minute'
               THEN first_attempts + previous_first_attempts * (1 - extract(epoch FROM now() - window_started_at) / 60)
             WHEN window_started_at > now() - interval '2 minutes'
               THEN first_attempts * (1 - extract(epoch FROM now() - window_started_at - interval '1 minute') / 60)
             ELSE 0 END AS first_attempts,
        CASE WHEN window_started_at > now() - interval '1 minute'
               THEN retries + previous_retries * (1 - extract(epoch FROM now() - window_started_at) / 60)
             WHEN window_started_at > now() - interval '2 minutes'
               THEN retries * (1 - extract(epoch FROM now() - window_started_at - interval '1 minute') / 60)
             ELSE 0 END AS retries
      FROM sms_outbox.provider_limits
    )
    SELECT coalesce(l.provider, p.provider) AS provider, p.error_code AS "errorCode", p.reason,
           p.paused_at AS "pausedAt", p.paused_by AS "pausedBy",
           CASE WHEN p.paused_by IS NULL THEN p.next_probe_at END AS "nextProbeAt", p.probes,
           coalesce(l.first_attempts, 0)::float8 AS "firstAttempts", coalesce(l.retries, 0)::float8 AS retries
    FROM limits l FULL JOIN sms_outbox.provider_pauses p ON p.provider = l.provider
    ORDER BY 1`
  return rows.map((row) => ({
    provider: row.provider,
    pause:
      row.pausedAt === null
        ? null
        : {
            errorCode: row.errorCode!,
            reason: row.reason!,
            pausedAt: row.pausedAt,
            pausedBy: row.pausedBy,
            nextProbeAt: row.nextProbeAt,
            probes: row.probes!,
          },
    lastMinute: { firstAttempts: Math.round(row.firstAttempts), retries: Math.round(row.retries) },
  }))
}
