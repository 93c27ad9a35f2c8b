import type { PrismaClient } from '../db/database.ts'

/** Failed admin logins allowed per client address in any one minute. */
export const LOGIN_FAILURES_PER_MINUTE = 10

/** An attempt the throttle let through (its row counts as a failure until it succeeds), or why not. */
export type LoginAdmission = { admitted: true; attemptId: bigint } | { admitted: false; retryAfterSeconds: number }

/**
 * The admin login's brute-force limit: at most LOGIN_FAILURES_PER_MINUTE failed logins
 * per client address in any sliding minute, counted in `admin_login_failures` so that
 * every API process shares the count.
 *
 * Each attempt is recorded before the token is checked and counted after, in separate
 * statements: a burst of concurrent attempts then sees its own rows, so no more than the
 * limit are ever checked. A refused attempt removes its row again, so that a client that
 * keeps trying is let back in once its oldest failure is a minute old.
 */
export async function admitLoginAttempt(prisma: PrismaClient, clientAddress: string): Promise<LoginAdmission> {
  await prisma.$executeRaw`DELETE FROM sms_outbox.admin_login_failures WHERE failed_at < now() - interval '1 minute'`
  const [{ id }] = await prisma.$queryRaw<{ id: bigint }[]>`
    INSERT INTO sms_outbox.admin_login_failures (client_address) VALUES (${clientAddress}) RETURNING id`
  const [recent] = await prisma.$queryRaw<{ failures: number; oldestLeavesInSeconds: number }[]>`
    SELECT count(*)::int AS failures,
           ceil(extract(epoch FROM min(failed_at) + interval '1 minute' - now()))::int AS "oldestLeavesInSeconds"
    FROM sms_outbox.admin_login_failures
    WHERE client_address = ${clientAddress} AND failed_at >= now() - interval '1 minute'`
  if (recent.failures <= LOGIN_FAILURES_PER_MINUTE) return { admitted: true, attemptId: id }
  await forgetLoginAttempt(prisma, id)
  return { admitted: false, retryAfterSeconds: Math.max(1, recent.oldestLeavesInSeconds) }
}

/** The attempt succeeded: it is no failure. */
export async function forgetLoginAttempt(prisma: PrismaClient, attemptId: bigint): Promise<void> {
  await prisma.$executeRaw`DELETE FROM sms_outbox.admin_login_failures WHERE id = ${attemptId}`
}
