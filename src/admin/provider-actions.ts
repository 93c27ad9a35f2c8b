import type { Alerter } from '../alerts/alerter.ts'
import type { PrismaClient } from '../db/database.ts'

// What an admin does to a provider: each is recorded in admin_actions in the statement
// that does it, and told to the alert channel as a dispatcher's own pause would be.

interface AdminProviderAction {
  actor: string
  alerts?: Pick<Alerter, 'notify'>
}

/**
 * Stops every dispatcher sending through `provider` (say, during the provider's incident)
 * until an admin resumes it: unlike a pause after an account error, no probe message
 * tests it. Pausing a provider a dispatcher paused makes that pause manual. False when it
 * was paused by hand already (nothing changes, nothing is recorded).
 */
export async function pauseProviderByHand(
  prisma: PrismaClient,
  provider: string,
  { actor, reason, alerts }: AdminProviderAction & { reason: string },
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
  if (paused > 0) alerts?.notify({ kind: 'paused', provider, errorCode: 'manual', reason: `paused by ${actor}: ${reason}` })
  return paused > 0
}

/** Ends any pause of `provider` now, a manual one too; true if there was one. */
export async function resumeProviderByHand(
  prisma: PrismaClient,
  provider: string,
  { actor, alerts }: AdminProviderAction,
): Promise<boolean> {
  const [{ resumed }] = await prisma.$queryRaw<{ resumed: number }[]>`
    WITH resumed AS (
      DELETE FROM sms_outbox.provider_pauses WHERE provider = ${provider}
      RETURNING provider, error_code
    ), logged AS (
      INSERT INTO sms_outbox.admin_actions (actor, action, provider, detail)
      SELECT ${actor}, 'resume', provider, jsonb_build_object('errorCode', error_code) FROM resumed
    )
    SELECT count(*)::int AS resumed FROM resumed`
  if (resumed > 0) alerts?.notify({ kind: 'resumed', provider, by: 'admin' })
  return resumed > 0
}
