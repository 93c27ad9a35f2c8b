// The embedded PostgreSQL's superuser password: random per DATA_DIR, kept in a file only
// its owner reads, and an older DATA_DIR (fixed password `postgres`) upgraded on its first start.
import { mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import t, { type Test } from 'tap'
import { PASSWORD_FILE, readEmbeddedPassword } from '../../src/db/embedded-password.ts'
import { embeddedPostgresUrl, startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts'

function freshDataDir(t: Test): string {
  const dataDir = mkdtempSync(join(tmpdir(), 'sms-outbox-password-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  return dataDir
}

async function query(url: string, sql: string): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}

/** What logging in with `password` answers: `ok`, or PostgreSQL's error code (28P01: wrong password). */
async function loginWith(serverUrl: string, password: string): Promise<string> {
  const url = new URL(serverUrl)
  url.password = password
  try {
    await query(url.toString(), 'SELECT 1')
    return 'ok'
  } catch (error) {
    return (error as { code?: string }).code ?? String(error)
  }
}

/** The password file is private: mode 0600, owned by whoever owns the data directory. */
function checkPasswordFile(t: Test, dataDir: string): string {
  const file = statSync(join(dataDir, PASSWORD_FILE))
  t.equal(file.mode & 0o777, 0o600, 'readable and writable by its owner only')
  t.equal(file.uid, statSync(dataDir).uid, 'owned by the data directory’s owner')
  const password = readEmbeddedPassword(dataDir)!
  t.ok(password.length >= 40, 'a long random password')
  return password
}

t.test('a new DATA_DIR: a random password, in a private file, the only one that logs in', async (t) => {
  const dataDir = freshDataDir(t)
  const server = await startEmbeddedPostgres({ dataDir })
  t.teardown(() => server.stop())
  const password = checkPasswordFile(t, dataDir)
  t.equal(new URL(server.url()).password, password, 'the server is reached with it')
  t.equal(await loginWith(server.url(), password), 'ok')
  t.equal(await loginWith(server.url(), 'postgres'), '28P01', 'the old fixed password is refused')
  // What the CLI uses to reach a server that `npm start` runs.
  const port = Number(new URL(server.url()).port)
  t.same(await query(embeddedPostgresUrl(dataDir, port), 'SELECT 1 AS one'), [{ one: 1 }])

  const other = freshDataDir(t)
  const otherServer = await startEmbeddedPostgres({ dataDir: other })
  t.teardown(() => otherServer.stop())
  t.not(readEmbeddedPassword(other), password, 'every DATA_DIR has its own')
})

t.test('a DATA_DIR of an older sms-outbox (password `postgres`, no file): upgraded on its first start', async (t) => {
  const dataDir = freshDataDir(t)
  // The state an older version left on disk: the superuser's password `postgres` in the
  // catalog and no password file. Made here with the same ALTER ROLE initdb's --pwfile does.
  let server = await startEmbeddedPostgres({ dataDir })
  await query(server.url(), `CREATE TABLE kept (note text); INSERT INTO kept VALUES ('from before the upgrade')`)
  await query(server.url(), `ALTER ROLE postgres PASSWORD 'postgres'`)
  await server.stop()
  unlinkSync(join(dataDir, PASSWORD_FILE))

  server = await startEmbeddedPostgres({ dataDir })
  t.teardown(() => server.stop())
  const password = checkPasswordFile(t, dataDir)
  t.not(password, 'postgres')
  t.equal(await loginWith(server.url(), 'postgres'), '28P01', 'the old fixed password no longer logs in')
  t.same(await query(server.url(), 'SELECT note FROM kept'), [{ note: 'from before the upgrade' }], 'the data kept')

  // And the next start keeps the password it wrote.
  await server.stop()
  server = await startEmbeddedPostgres({ dataDir })
  t.equal(readEmbeddedPassword(dataDir), password)
  t.equal(await loginWith(server.url(), password), 'ok')
})

t.test('a crash after ALTER ROLE, before the file was written: the next start sets a new one', async (t) => {
  const dataDir = freshDataDir(t)
  let server = await startEmbeddedPostgres({ dataDir })
  await query(server.url(), `ALTER ROLE postgres PASSWORD 'known to nobody'`)
  await server.stop()
  unlinkSync(join(dataDir, PASSWORD_FILE))

  server = await startEmbeddedPostgres({ dataDir })
  t.teardown(() => server.stop())
  const password = checkPasswordFile(t, dataDir)
  t.equal(await loginWith(server.url(), password), 'ok')
})
