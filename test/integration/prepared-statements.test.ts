import pg from 'pg'
import t from 'tap'
import { usePreparedStatements } from '../../src/db/prepared-statements.ts'
import { queryableOf } from '../../src/library/transaction.ts'
import { enqueueEach } from '../../src/outbox/enqueue/enqueue.ts'
import { prepareMessage } from '../../src/outbox/enqueue/prepare-message.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

const db = await createTestDatabase(t)
const message = () => prepareMessage({ to: '010-1234-5678', text: 'prepared' }, { defaultMaxRetries: 3 })

/** The prepared statements of the one connection `run` was given, after it ran. */
async function preparedAfter(run: (client: pg.Client) => Promise<unknown>): Promise<string[]> {
  const client = new pg.Client({ connectionString: db.url })
  await client.connect()
  try {
    await run(client)
    const { rows } = await client.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')
    return rows.map((row) => row.name)
  } finally {
    await client.end()
  }
}

t.test("enqueue's INSERT runs as a named prepared statement on the service's connections", async (t) => {
  const names = await preparedAfter((client) => enqueueEach(client, [message(), message()], [60, 60]))
  t.same(names, ['sms-outbox.insert-messages'])
  const [{ n }] = await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM sms_outbox.messages WHERE body = 'prepared'`)
  t.equal(n, 2, 'and inserts as before')
})

t.test('DATABASE_PREPARED_STATEMENTS=false (PgBouncer in transaction mode): no prepared statement', async (t) => {
  usePreparedStatements(false)
  t.teardown(() => usePreparedStatements(true))
  t.same(await preparedAfter((client) => enqueueEach(client, [message()], [60])), [])
})

t.test("a library caller's connection is left without one", async (t) => {
  t.same(await preparedAfter((client) => enqueueEach(queryableOf(client), [message()], [60])), [])
})
