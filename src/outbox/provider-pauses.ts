import type { PrismaClient } from '../db/database.ts'

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
 * An admin stops every dispatcher sending through `provider` (say, during the provider's
 * incident) until an admin resumes it: unlike a pause after an account error, no probe
 * message tests it. Pausing a provider a dispatcher paused makes that pause manual.
 * Recorded in admin_actions; false when it was paused by hand already (nothing changes).
 */
export async function pauseProviderByHand(
  prisma: PrismaClient,
  provider: string,
  { actor, reason }: { actor: string; reason: string },
): Promise<boolean> {
  const [{ paused }] = await prisma.$queryRaw<{ paused: number }[]>`
    WITH paused AS (
      INSERT INTO sms_outbox.provider_pauses AS p (provider, error_code, reason, next_probe_at, paused_by)
      VALUES (${provider}, 'manual', ${reason}, now(), ${actor})
      ON CONFLICT (provider) DO UPDATE
      SET error_code = 'manual', reason = excluded.reason, paused_by = excluded.paused_by
      WHERE p.paused_by IS NULL
      RETURNING provider
    ), logged AS (
      INSERT INTO sms_outbox.admin_actions (actor, action, provider, detail)
      SELECT ${actor}, 'pause', provider, jsonb_build_object('reason', ${reason}::text) FROM paused
    )
    SELECT count(*)::int AS paused FROM paused`
  return paused > 0
}

/**
 * Ends the pause of `provider`; true if there was one. With an `actor` (an admin, not a
 * probe), the resume is recorded in admin_actions in the same statement. Without one, a
 * pause an admin made by hand stays.
 */
export async function resumeProvider(
  prisma: PrismaClient,
  provider: string,
  { actor }: { actor?: string } = {},
): Promise<boolean> {
  const [{ resumed }] = await prisma.$queryRaw<{ resumed: number }[]>`
    WITH resumed AS (
      DELETE FROM sms_outbox.provider_pauses
      WHERE provider = ${provider} AND (${actor ?? null}::text IS NOT NULL OR paused_by IS NULL)
      RETURNING provider, error_code
    ), logged AS (
      INSERT INTO sms_outbox.admin_actions (actor, action, provider, detail)
      SELECT ${actor ?? null}::text, 'resume', provider, jsonb_build_object('errorCode', error_code)
      FROM resumed WHERE ${actor ?? null}::text IS NOT NULL
    )
    SELECT count(*)::int AS resumed FROM resumed`
  return resumed > 0
}

export function listProviderPauses(prisma: PrismaClient): Promise<ProviderPause[]> {
  return prisma.providerPause.findMany({ orderBy: { pausedAt: 'asc' } })
}
