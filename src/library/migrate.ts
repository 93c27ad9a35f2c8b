import { applyMigrations } from '../db/migrations.ts'

/**
 * Creates or upgrades the outbox's tables in the schema `sms_outbox` of the database at
 * `databaseUrl`, as `npx sms-outbox migrate` does: only the migrations it lacks, each in
 * its own transaction, never touching `public` or its `_prisma_migrations`. Safe to call
 * from every process at boot: one migrates while the others wait.
 */
export async function migrate(databaseUrl: string): Promise<void> {
  await applyMigrations(databaseUrl)
}
