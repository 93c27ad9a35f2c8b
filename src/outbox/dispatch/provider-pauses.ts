import { sql, type Connection } from '../../db/sql-statement.ts'

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
  db: Connection,
  { provider, errorCode, reason, probeIntervalMs }: {
    provider: string
    errorCode: string
    reason: string
    probeIntervalMs: number
  },
): Promise<boolean> {
  const { rowCount } = await db.query(...sql`
    INSERT INTO sms_outbox.provider_pauses (provider, error_code, reason, next_probe_at)
    VALUES (${provider}, ${errorCode}, ${reason}, now() + ${probeIntervalMs}::int * interval '1 millisecond')
    ON CONFLICT (provider) DO NOTHING`)
  return rowCount === 1
}

/**
 * Ends the pause of `provider` after a probe went through; true if there was one. A pause
 * an admin made by hand stays: only an admin ends it (src/admin/provider-actions.ts).
 */
export async function resumeProvider(db: Connection, provider: string): Promise<boolean> {
  const { rowCount } = await db.query(...sql`
    DELETE FROM sms_outbox.provider_pauses WHERE provider = ${provider} AND paused_by IS NULL`)
  return (rowCount ?? 0) > 0
}

export async function listProviderPauses(db: Connection): Promise<ProviderPause[]> {
  const { rows } = await db.query<ProviderPause>(
    `SELECT provider, error_code AS "errorCode", reason, paused_at AS "pausedAt", next_probe_at AS "nextProbeAt",
            probes, paused_by AS "pausedBy"
     FROM sms_outbox.provider_pauses ORDER BY paused_at`,
  )
  return rows
}
