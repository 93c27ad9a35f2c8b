import { percentile } from '../checker.ts'
import { phoneNumberOf } from '../load-generator.ts'
import { round, type Scenario } from '../scenario.ts'

/**
 * 1. Baseline: 20k messages through one API and two dispatchers with nothing going wrong.
 * The figures every fault scenario is read against: throughput and enqueue-to-receipt
 * latency, and all checker counts at 0. The messages arrive through the batch route, 200
 * at a time, while the dispatchers drain: single keyed POSTs run at a few hundred per
 * second on 2 shared cores, which would make this a test of the enqueue path instead.
 */
export const baselineDrain: Scenario = {
  id: 1,
  name: 'baseline drain',
  quick: false,
  timeoutMs: 150_000,
  async run(ctx) {
    const count = ctx.quick ? 2_000 : 20_000
    const api = await ctx.driver.start('api', ctx.serviceEnv({ ROLE: 'api' }))
    await Promise.all([1, 2].map((n) => ctx.driver.start(`worker-${n}`, ctx.serviceEnv({ ROLE: 'worker' }))))

    const started = performance.now()
    await ctx.load.runBatches({
      count,
      batchSize: 200,
      concurrency: 2,
      targets: () => [api.url],
      keyPrefix: 'baseline',
      body: (i) => ({ to: phoneNumberOf(i), text: `baseline ${i}` }),
    })
    const enqueueSeconds = (performance.now() - started) / 1000
    const accepted = ctx.load.acceptedIds()
    const report = await ctx.check(accepted.values())

    // Enqueue-to-receipt: from the caller's request to the provider's first receipt.
    const firstReceipt = new Map<string, number>()
    for (const entry of ctx.provider.ledger) if (!firstReceipt.has(entry.id)) firstReceipt.set(entry.id, entry.at)
    const latencies: number[] = []
    for (const [key, id] of accepted) {
      const receipt = firstReceipt.get(id)
      if (receipt !== undefined) latencies.push(receipt - ctx.load.logs.get(key)!.tries[0].startedAt)
    }
    const receipts = ctx.provider.ledger.map((entry) => entry.at)
    const drainSeconds = (Math.max(...receipts) - (Date.now() - (performance.now() - started))) / 1000
    ctx.expect('every message accepted', accepted.size === count, ctx.load.summary())
    ctx.expect('every message sent once', report.sent === count && report.dup === 0, { sent: report.sent, dup: report.dup })
    return {
      messages: count,
      enqueue_per_second: round(count / enqueueSeconds, 0),
      delivered_per_second: round(receipts.length / drainSeconds, 0),
      enqueue_to_receipt_p50_ms: round(percentile(latencies, 50), 0),
      enqueue_to_receipt_p99_ms: round(percentile(latencies, 99), 0),
    }
  },
}
