import { round } from './measure.ts'
import type { BenchResult } from './run.ts'

export interface Ratio {
  name: string
  value: number
  /** null: shown for context, no target. */
  target: string | null
  met: boolean | null
}

/** The targets (and a few figures for context), each from figures of the same run. */
export function ratiosOf({ outbox, pgBoss, graphileWorker, pgbench }: Omit<BenchResult, 'ratios'>): Ratio[] {
  const ratios: Ratio[] = []
  const atLeast = (name: string, value: number, min: number) =>
    ratios.push({ name, value: round(value), target: `>= ${round(min)}x`, met: value >= min })
  const atMost = (name: string, value: number, max: number, unit: string) =>
    ratios.push({ name, value: round(value), target: `<= ${max}${unit}`, met: value <= max })
  const context = (name: string, value: number) => ratios.push({ name, value: round(value), target: null, met: null })

  const rest = outbox.restEnqueue?.messagesPerSecond
  const batch = outbox.batchEnqueue?.messagesPerSecond
  const dispatched = outbox.dispatch?.messagesPerSecond
  const dispatchedMany = outbox.dispatchMany?.messagesPerSecond
  const dispatchedBatches = outbox.dispatchBatch?.messagesPerSecond
  if (rest && pgBoss) atLeast('REST enqueue / pg-boss enqueue', rest / pgBoss.enqueue.jobsPerSecond, 4)
  if (rest && pgbench?.insertsPerSecond) {
    atLeast('REST enqueue / pgbench one INSERT per commit', rest / pgbench.insertsPerSecond, 1)
  }
  if (batch && pgBoss) atLeast('batch enqueue / pg-boss enqueue', batch / pgBoss.enqueue.jobsPerSecond, 15)
  if (dispatchedMany && graphileWorker) {
    atLeast('dispatch over HTTP, SOLAPI send-many / graphile-worker no-op drain', dispatchedMany / graphileWorker.drain.jobsPerSecond, 3)
  }
  if (dispatchedBatches && graphileWorker) {
    atLeast('dispatch over HTTP, webhook batches of 500 / graphile-worker no-op drain', dispatchedBatches / graphileWorker.drain.jobsPerSecond, 3)
  }
  if (outbox.lag) {
    atMost(`lag p50 at ${outbox.lag.ratePerSecond} msg/s`, outbox.lag.p50Ms, 10, ' ms')
    atMost(`lag p99 at ${outbox.lag.ratePerSecond} msg/s`, outbox.lag.p99Ms, 25, ' ms')
  }
  if (outbox.claim) {
    atMost('claim p99, with sent rows / empty table', outbox.claim.withSentRows.p99Ms / outbox.claim.emptyTable.p99Ms, 1.5, 'x')
  }
  if (outbox.peakRssMB) atMost('service peak RSS', outbox.peakRssMB.max, 128, ' MB')
  if (outbox.history) {
    const { historyRows: rows, emptyTable, withHistory, pruning, sizes } = outbox.history
    atMost(`claim p99, with ${rows} old terminal rows / empty table`, withHistory.claimP99Ms / emptyTable.claimP99Ms, 1.5, 'x')
    atLeast(`REST enqueue, with ${rows} old terminal rows / empty table`, withHistory.restMessagesPerSecond / emptyTable.restMessagesPerSecond, 1 / 1.5)
    atLeast(`drain, with ${rows} old terminal rows / empty table`, withHistory.drainMessagesPerSecond / emptyTable.drainMessagesPerSecond, 1 / 1.5)
    atLeast(`drain while the pruner deletes old rows / drain without`, pruning.drainMessagesPerSecond / withHistory.drainMessagesPerSecond, 0.8)
    for (const table of ['messages', 'message_attempts'] as const) {
      const { totalMB, indexesMB } = sizes.afterPruneAndVacuum[table]
      const empty = sizes.emptyTable[table]
      atMost(`${table} size after pruning + VACUUM / empty table`, totalMB / empty.totalMB, 1.2, 'x')
      context(`${table} size without indexes after pruning + VACUUM / empty table`, (totalMB - indexesMB) / Math.max(empty.totalMB - empty.indexesMB, 0.008))
      atMost(`${table} size after as many rows again / with the first ${rows}`, sizes.afterRefill[table].totalMB / sizes.withHistory[table].totalMB, 1.2, 'x')
    }
    context('pruner beside a drain (pausing between batches): rows deleted per second, with their attempts', pruning.besideDrain.rowsPerSecond)
    context('pruner alone, no pauses: rows deleted per second, with their attempts', pruning.alone.rowsPerSecond)
  }

  if (dispatched && graphileWorker) {
    atLeast('dispatch over HTTP, webhook one per call / graphile-worker no-op drain', dispatched / graphileWorker.drain.jobsPerSecond, 2)
  }
  if (rest && graphileWorker) context('REST enqueue / graphile-worker enqueue', rest / graphileWorker.enqueue.jobsPerSecond)
  if (dispatched && pgBoss) context('dispatch over HTTP, webhook one per call / pg-boss no-op drain (batch 500)', dispatched / pgBoss.drain.jobsPerSecond)
  if (dispatched && graphileWorker?.drainBatched) {
    context('dispatch over HTTP, webhook one per call / graphile-worker no-op drain, local queue 500', dispatched / graphileWorker.drainBatched.jobsPerSecond)
  }
  const drains = outbox.scaleOut?.drains ?? []
  for (const { dispatchers, messagesPerSecond } of drains.slice(1)) {
    const name = `dispatch with ${dispatchers} worker processes / with 1`
    if (dispatchers === 4) atLeast(name, messagesPerSecond / drains[0].messagesPerSecond, 1)
    else context(name, messagesPerSecond / drains[0].messagesPerSecond)
  }
  for (const { dispatchers, lockWait } of drains) {
    context(`lock wait per message with ${dispatchers} worker processes, ms (backends waiting, sampled)`, lockWait.msPerMessage)
  }
  if (outbox.scaleOut) {
    const { rateLimited } = outbox.scaleOut
    atMost(
      `busiest second at PROVIDER_RATE_LIMIT=${rateLimited.limitPerSecond} (+ burst ${rateLimited.burst}), ${rateLimited.dispatchers} workers`,
      rateLimited.busiestSecond,
      rateLimited.limitPerSecond + rateLimited.burst,
      ' msg',
    )
  }
  if (pgbench?.withTriggerPerSecond && pgbench.insertsPerSecond) {
    context('pgbench: INSERT into messages (NOTIFY trigger) / plain table', pgbench.withTriggerPerSecond / pgbench.insertsPerSecond)
  }
  return ratios
}

/** The ratios as a Markdown table, for the terminal and the README. */
export function ratioTable(ratios: Ratio[]): string {
  const lines = ['| measure | value | target | met |', '|---|---:|---|---|']
  for (const { name, value, target, met } of ratios) {
    lines.push(`| ${name} | ${value} | ${target ?? '(context)'} | ${met === null ? '' : met ? 'yes' : 'no'} |`)
  }
  return lines.join('\n')
}
