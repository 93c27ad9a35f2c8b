import t from 'tap'
import type { PrismaClient } from '../../src/db/database.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { attemptsOf, enqueue, webhookDispatcher } from '../helpers/outbox-fixture.ts'
import { until } from '../helpers/service-process.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))

// Found by chaos scenario 11 (5xx storm): retries came up to a poll interval plus a sweep
// and a claim after their backoff, 234 ms late with a 200 ms poll on two busy cores.
t.test('a retry runs when its backoff ends, not at the next poll', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  fake.reply = (_receipt, n) => (n === 1 ? { status: 503 } : { status: 200 })
  // A poll far longer than the 40 ms backoff: only a wake-up at the due time is prompt.
  const { dispatcher, provider } = webhookDispatcher(db, fake.url, { pollIntervalMs: 5_000 })
  t.teardown(() => provider.close?.())
  const id = await enqueue(db)
  dispatcher.start()
  t.teardown(() => dispatcher.stop())
  await until(async () => (await db.sql('SELECT status FROM sms_outbox.messages WHERE id = $1', [id]))[0].status === 'sent', 'sent', 4_000)
  const [first, second] = await attemptsOf(db, id)
  const gap = second.started_at.getTime() - first.finished_at!.getTime()
  t.ok(gap >= 40 && gap < 1_000, `the retry started ${gap} ms after the 503 (backoff 40 ms, poll 5 s)`)
})

// Found by chaos scenario 8 (backends terminated every second, LISTEN dead): pickups of
// 230 ms with a 200 ms poll, because each pass slept a full interval after its sweep.
t.test('polling keeps its cadence: a row is claimed within one poll interval, however slow the sweep', async (t) => {
  const db = await createTestDatabase(t)
  const fake = await startFakeWebhook(t)
  // Every sweep statement takes 100 ms more (a busy database): 200 ms per sweep.
  const slowSweeps = new Proxy(db.prisma, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown
      if (key !== '$queryRaw' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value
      return async (...args: unknown[]) => {
        await sleep(100)
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  }) as PrismaClient
  const pollMs = 300
  const { dispatcher, provider } = webhookDispatcher({ ...db, prisma: slowSweeps }, fake.url, { pollIntervalMs: pollMs })
  t.teardown(() => provider.close?.())
  dispatcher.start()
  t.teardown(() => dispatcher.stop())
  // No LISTEN here: only polling finds these rows. Spread over the cycle at odd offsets.
  const ids: string[] = []
  for (let i = 0; i < 12; i += 1) {
    await sleep(97 + ((i * 61) % 150))
    ids.push(await enqueue(db, { text: `cadence ${i}` }))
  }
  await until(async () => (await db.sql(`SELECT count(*)::int AS n FROM sms_outbox.messages WHERE status = 'sent'`))[0].n === ids.length, 'all sent', 10_000)
  const pickups = await db.sql<{ ms: number }>(
    `SELECT (extract(epoch FROM a.started_at - m.created_at) * 1000)::float AS ms
     FROM sms_outbox.messages m JOIN sms_outbox.message_attempts a ON a.message_id = m.id AND a.attempt = 1`,
  )
  const slowest = Math.max(...pickups.map((p) => p.ms))
  // One interval, plus the claim statement's own start-up on a busy machine.
  t.ok(slowest <= pollMs + 50, `slowest pickup ${Math.round(slowest)} ms with a ${pollMs} ms poll and 200 ms sweeps`)
})
