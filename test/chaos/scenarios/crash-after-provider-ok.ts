import { phoneNumberOf } from '../load-generator.ts'
import { sleep, type Scenario } from '../scenario.ts'
import { TcpProxy } from '../tcp-proxy.ts'

/**
 * 3. A dispatcher dies after the provider said ok and before the row is marked sent: the
 * one window at-least-once delivery cannot close. To hit it exactly, the dispatcher
 * reaches PostgreSQL through the harness's TCP proxy, the fake provider cuts that proxy
 * at the moment it answers ok (so the `sent` write cannot land), and the harness kills
 * the dispatcher with -9 while it retries the write. The lease runs out, the row is
 * reclaimed as ambiguous and sent again: exactly one duplicate per crash, each labelled.
 */
export const crashAfterProviderOk: Scenario = {
  id: 3,
  name: 'crash between provider ok and the sent write',
  quick: true,
  timeoutMs: 90_000,
  async run(ctx) {
    const count = ctx.quick ? 8 : 30
    // The k-th distinct message the provider sees is where a crash happens.
    const crashAt = new Set(ctx.quick ? [3] : [5, 15, 25])
    const proxy = await new TcpProxy({ host: '127.0.0.1', port: ctx.postgres.port }).start()
    ctx.onCleanup(() => proxy.close())
    // One row in flight at a time, so a crash catches exactly one sent-but-unrecorded row.
    const workerEnv = ctx.serviceEnv({
      ROLE: 'worker',
      DATABASE_URL: proxy.route(ctx.databaseUrl),
      DISPATCH_CONCURRENCY: '1',
      DISPATCH_BATCH_SIZE: '1',
      LEASE_MS: '2000',
    })
    const [api, firstWorker] = await Promise.all([
      ctx.driver.start('api', ctx.serviceEnv({ ROLE: 'api' })),
      ctx.driver.start('worker', workerEnv),
    ])
    let worker = firstWorker

    let seen = 0
    const crashed: string[] = []
    let onCrash: ((id: string) => void) | undefined
    ctx.provider.beforeAnswer = (entry) => {
      if (entry.n !== 1) return
      seen += 1
      if (!crashAt.has(seen)) return
      proxy.cut()
      onCrash?.(entry.id)
    }

    const crashes = (async () => {
      for (let i = 0; i < crashAt.size; i += 1) {
        const id = await new Promise<string>((done) => (onCrash = done))
        crashed.push(id)
        // The provider's 200 is on its way; give the dispatcher time to read it and start
        // retrying its write against the cut connection, then kill it mid-retry.
        await sleep(200)
        await ctx.driver.kill(worker)
        proxy.heal()
        worker = await ctx.driver.start('worker', workerEnv)
      }
    })()

    await ctx.load.runBatches({
      count,
      batchSize: count,
      concurrency: 1,
      targets: () => [api.url],
      keyPrefix: 'crash',
      body: (i) => ({ to: phoneNumberOf(i), text: `crash ${i}` }),
    })
    await crashes
    const report = await ctx.check(ctx.load.acceptedIds().values())

    const { rows } = await ctx.pool.query<{ id: string; outcomes: string[]; codes: (string | null)[] }>(
      `SELECT message_id AS id, array_agg(outcome ORDER BY attempt) AS outcomes, array_agg(error_code ORDER BY attempt) AS codes
       FROM sms_outbox.message_attempts WHERE message_id = ANY($1::uuid[]) GROUP BY message_id`,
      [crashed],
    )
    const labelled = rows.filter(
      (row) => row.outcomes.join() === 'ambiguous,ok' && row.codes[0] === 'lease_expired',
    ).length
    ctx.expect('dup == crashes', report.dup === crashed.length, { dup: report.dup, crashes: crashed.length })
    ctx.expect('each duplicate labelled ambiguous (lease_expired), then ok', labelled === crashed.length, rows)
    ctx.expect('every message sent', report.sent === count, report.sent)
    return { messages: count, crashes: crashed.length, duplicates_labelled_ambiguous: labelled }
  },
}
