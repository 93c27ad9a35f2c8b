import type pg from 'pg'
import { OUTBOX_SCHEMA } from './outbox-schema.ts'

// What the migrations before 20261206000000_own_schema created in `public`, the only
// layout there was before the outbox had its own schema. Sequences owned by a column
// (admin_actions.id), indexes, constraints and triggers move with their table.
const LEGACY_TABLES = ['messages', 'message_attempts', 'provider_pauses', 'provider_limits', 'suppressions', 'admin_actions']
const LEGACY_FUNCTIONS = ['sms_outbox_notify_due()']

/**
 * Moves an outbox that lives in `public` (tables there, its migrations recorded in
 * `public._prisma_migrations`) into the schema `sms_outbox`, in place: `ALTER ... SET
 * SCHEMA` keeps every row, so no message is lost or sent twice. Its rows of the migration
 * history move too; the host's own rows stay, and `public._prisma_migrations` is dropped
 * only if nothing else is left in it. The caller holds the migration lock and runs this in
 * the transaction that creates `sms_outbox._prisma_migrations`: all of it, or none.
 * Returns whether there was anything to move.
 */
export async function moveLegacyLayout(client: pg.Client, migrationNames: string[]): Promise<boolean> {
  const { rows: [layout] } = await client.query<{ legacy_history: boolean; legacy_messages: boolean; own_messages: boolean }>(
    `SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS legacy_history,
            to_regclass('public.messages') IS NOT NULL AS legacy_messages,
            to_regclass($1) IS NOT NULL AS own_messages`,
    [`"${OUTBOX_SCHEMA}".messages`],
  )
  if (!layout.legacy_history || !layout.legacy_messages) return false
  const { rows: ours } = await client.query<{ migration_name: string }>(
    'SELECT migration_name FROM public._prisma_migrations WHERE migration_name = ANY($1::text[])',
    [migrationNames],
  )
  // A host's own table that happens to be called messages, with no outbox history: not ours.
  if (ours.length === 0) return false
  if (layout.own_messages) {
    throw new Error(
      `the outbox is in both public and ${OUTBOX_SCHEMA}; move or drop one by hand (public._prisma_migrations still lists ${ours.map((row) => row.migration_name).join(', ')})`,
    )
  }

  for (const table of LEGACY_TABLES) {
    const { rows: [found] } = await client.query<{ exists: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS exists',
      [`public.${table}`],
    )
    if (found.exists) await client.query(`ALTER TABLE public."${table}" SET SCHEMA "${OUTBOX_SCHEMA}"`)
  }
  for (const signature of LEGACY_FUNCTIONS) {
    const { rows: [found] } = await client.query<{ exists: boolean }>(
      'SELECT to_regprocedure($1) IS NOT NULL AS exists',
      [`public.${signature}`],
    )
    if (found.exists) await client.query(`ALTER FUNCTION public.${signature} SET SCHEMA "${OUTBOX_SCHEMA}"`)
  }

  await client.query(
    `WITH moved AS (
       DELETE FROM public._prisma_migrations WHERE migration_name = ANY($1::text[]) RETURNING *
     )
     INSERT INTO "${OUTBOX_SCHEMA}"._prisma_migrations
       (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
     SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count FROM moved`,
    [migrationNames],
  )
  const { rows: [left] } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM public._prisma_migrations')
  if (left.n === 0) await client.query('DROP TABLE public._prisma_migrations')
  return true
}
