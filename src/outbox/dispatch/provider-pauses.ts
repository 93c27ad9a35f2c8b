import type { PrismaClient } from '../../db/database.ts'

/** A provider no message can get through until its account is fixed. */
export interface ProviderPause {
  provider: string
  errorCode: string
  reason: string
  pausedAt: Date
  nextProbeAt: Date
  probes: number
  /** The admin who paused it by hand: then no probe runs and only an admin resumes it. */
  pausedBy: string | null
}

/**
 * Pauses `provider` for every dispatcher: claims stop (see claimDue) but for one probe
 * message every `probeIntervalMs`. True only for the call that created the pause, so
 * the many sends that fail together raise one alert between them.
 */
export async function pauseProvider(
  prisma: PrismaClient,
  { provider, errorCode, reason, probeIntervalMs }: {
    provider: string
    errorCode: string
    reason: string
    probeIntervalMs: number
  },
): Promise<boolean> {
  const created = await prisma.$executeRaw`
    INSERT INTO sms_outbox.provider_pauses (provider, error_code, reason, next_probe_at)
    VALUES (${provider}, ${errorCode}, ${reason}, now() + ${probeIntervalMs} * interval '1 millisecond')
    ON CONFLICT (provider) DO NOTHING`
  return created === 1
}

/**
 * Ends the pause of `provider` after a probe went through; true if there was one. A pause
 * an admin made by hand stays: only an admin ends it (src/admin/provider-actions.ts).
 */
export async function resumeProvider(prisma: PrismaClient, provider: string): Promise<boolean> {
  const resumed = await prisma.$executeRaw`
    DELETE FROM sms_outbox.provider_pauses WHERE provider = ${provider} AND paused_by IS NULL`
  return resumed > 0
}

export function listProviderPauses(prisma: PrismaClient): Promise<ProviderPause[]> {
  return prisma.providerPause.findMany({ orderBy: { pausedAt: 'asc' } })
}
