// An application with its own Prisma schema in `public` shares its database with the
// outbox: after sms-outbox's migrations, the host's `prisma migrate status` is still clean
// and its `public` schema is exactly as before (information_schema compared: `migrate diff
// --from-url` and `db pull` refuse to run offline through the pg adapter).
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { applyMigrations } from '../../src/db/migrations.ts'
import { createEmptyDatabase, openTestDatabase, type TestDatabase } from '../helpers/test-database.ts'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CATALOG_SAFE_POOL = fileURLToPath(new URL('../../src/db/catalog-safe-pool.ts', import.meta.url))

/** A host project: its own model (one table even named like ours) and migration, its own prisma.config.ts. */
function hostProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sms-outbox-host-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  mkdirSync(join(dir, 'prisma/migrations/20250101000000_init'), { recursive: true })
  writeFileSync(
    join(dir, 'prisma/schema.prisma'),
    // engineType client, as ours: the default engine would be downloaded, and cannot be here.
    `generator client {
  provider   = "prisma-client"
  output     = "../generated"
  engineType = "client"
}

datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model Order {
  id   Int    @id @default(autoincrement())
  note String
  @@map("orders")
}

model Message {
  id   Int    @id @default(autoincrement())
  body String
  @@map("messages")
}
`,
  )
  writeFileSync(
    join(dir, 'prisma/migrations/20250101000000_init/migration.sql'),
    `CREATE TABLE "orders" ("id" SERIAL NOT NULL, "note" TEXT NOT NULL, CONSTRAINT "orders_pkey" PRIMARY KEY ("id"));
CREATE TABLE "messages" ("id" SERIAL NOT NULL, "body" TEXT NOT NULL, CONSTRAINT "messages_pkey" PRIMARY KEY ("id"));
`,
  )
  writeFileSync(join(dir, 'prisma/migrations/migration_lock.toml'), 'provider = "postgresql"\n')
  writeFileSync(
    join(dir, 'prisma.config.ts'),
    `import { PrismaPg } from '@prisma/adapter-pg'
import { defineConfig } from 'prisma/config'
import { CatalogSafePool } from ${JSON.stringify(CATALOG_SAFE_POOL)}

export default defineConfig({
  schema: 'prisma/schema.prisma',
  experimental: { adapter: true },
  engine: 'js',
  async adapter() {
    return new PrismaPg(new CatalogSafePool({ connectionString: process.env.DATABASE_URL }))
  },
})
`,
  )
  return dir
}

async function prisma(dir: string, databaseUrl: string, ...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(join(ROOT, 'node_modules/.bin/prisma'), args, {
      cwd: dir,
      env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1' },
    })
    return { code: 0, output: stdout + stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, output: failed.stdout + failed.stderr }
  }
}

/** Everything of `public` a schema diff would look at. */
async function publicSchema(db: TestDatabase) {
  return {
    tables: await db.sql(`SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`),
    columns: await db.sql(`SELECT table_name, column_name, data_type, is_nullable, column_default
                           FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2`),
    constraints: await db.sql(`SELECT table_name, constraint_name, constraint_type
                               FROM information_schema.table_constraints WHERE table_schema = 'public' ORDER BY 1, 2`),
    indexes: await db.sql(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`),
    sequences: await db.sql(`SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public' ORDER BY 1`),
    routines: await db.sql(`SELECT routine_name FROM information_schema.routines WHERE routine_schema = 'public' ORDER BY 1`),
    triggers: await db.sql(`SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = 'public' ORDER BY 1`),
    history: await db.sql(`SELECT id, checksum, migration_name, finished_at FROM public._prisma_migrations ORDER BY migration_name`),
  }
}

t.test("the host's Prisma sees no drift and no foreign migration after sms-outbox migrates", async (t) => {
  const databaseUrl = await createEmptyDatabase(t)
  const dir = hostProject()
  const deployed = await prisma(dir, databaseUrl, 'migrate', 'deploy')
  t.equal(deployed.code, 0, deployed.output)
  const db = openTestDatabase(t, databaseUrl)
  const before = await publicSchema(db)
  t.equal(before.history.length, 1, 'the host has its one migration')

  t.ok((await applyMigrations(databaseUrl)).length > 0, 'sms-outbox migrates the same database')

  const status = await prisma(dir, databaseUrl, 'migrate', 'status')
  t.equal(status.code, 0, status.output)
  t.match(status.output, /Database schema is up to date/)
  t.notMatch(status.output, /not yet been applied|not found locally|failed/)
  t.same(await publicSchema(db), before, 'public: the same tables, columns, constraints, indexes and history')
  t.ok((await db.sql(`SELECT to_regclass('sms_outbox.messages') IS NOT NULL AS ok`))[0].ok, "the outbox's messages live beside the host's")
})
