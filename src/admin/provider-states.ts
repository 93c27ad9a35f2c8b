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
  /** Claims in the last 60 seconds, as the retry budget counts them (the view retry_budget_last_minute). */
  lastMinute: { firstAttempts: number; retries: number }
}

/**
 * Every provider the outbox knows (the migration makes a rate-limit row for each; a claim
 * or a pause names one): its pause, and what it claimed in the last minute, from which
 * the retry budget in use follows.
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
    WITH known AS (
      SELECT provider FROM sms_outbox.provider_limits
      UNION SELECT provider FROM sms_outbox.retry_budget_counts
    )
    SELECT coalesce(l.provider, p.provider) AS provider, p.error_code AS "errorCode", p.reason,
           p.paused_at AS "pausedAt", p.paused_by AS "pausedBy",
           CASE WHEN p.paused_by IS NULL THEN p.next_probe_at END AS "nextProbeAt", p.probes,
           coalesce(b.first_attempts, 0) AS "firstAttempts", coalesce(b.retries, 0) AS retries
    FROM known l
    FULL JOIN sms_outbox.provider_pauses p ON p.provider = l.provider
    LEFT JOIN sms_outbox.retry_budget_last_minute b ON b.provider = coalesce(l.provider, p.provider)
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
