// `npm test`: gives the tap suite a PostgreSQL server and a migrated template database,
// then runs tap. Each test file clones the template into a database of its own.
//
// TEST_DATABASE_URL set (a server where this user may create databases): use it.
// Unset: start an embedded PostgreSQL in a temporary directory, removed afterwards.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pg from 'pg'
import { startEmbeddedPostgres, type OwnedPostgres } from '../src/db/embedded-postgres.ts'
import { applyMigrations } from '../src/db/migrations.ts'
import { TEMPLATE_DATABASE, databaseUrl } from './helpers/test-database.ts'

let embedded: OwnedPostgres | undefined
let dataDir: string | undefined
let serverUrl = process.env.TEST_DATABASE_URL
if (!serverUrl) {
  dataDir = mkdtempSync(join(tmpdir(), 'sms-outbox-test-'))
  embedded = await startEmbeddedPostgres({ dataDir })
  serverUrl = embedded.url()
}

let exitCode = 1
try {
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE}`)
  await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`)
  await admin.end()
  await applyMigrations(databaseUrl(serverUrl, TEMPLATE_DATABASE))

  const tapCli = join(dirname(createRequire(import.meta.url).resolve('tap/package.json')), 'dist/esm/run.mjs')
  const tap = spawn(process.execPath, [tapCli, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, TEST_DATABASE_URL: serverUrl },
  })
  exitCode = await new Promise<number>((done) => tap.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0))))
} finally {
  await embedded?.stop()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
}
process.exit(exitCode)
