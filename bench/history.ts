import { join } from 'node:path'
import { connectDatabase } from '../src/db/database.ts'
import { runHousekeeping } from '../src/outbox/housekeeping/housekeeping.ts'
import type { CpuMeter } from './cpu.ts'
import type { FarEnd } from './far-end-process.ts'
import { claimTimer, clearRecent, deleteMeasured, dispatch, emptyOutbox, restEnqueue } from './outbox.ts'
import { sql } from './postgres.ts'
import { startService, type BenchService } from './service.ts'

const TABLES = ['messages', 'message_attempts'] as const

/** pg_total_relation_size of each table (heap, indexes and TOAST), and the indexes' share, in MB. */
export type TableSizes = Record<(typeof TABLES)[number], { totalMB: number; indexesMB: number }>

export interface HotPathFigures {
  claimP50Ms: number
  claimP99Ms: number
  restMessagesPerSecond: number
  drainMessagesPerSecond: number
}

export interface HistoryFigures {
  historyRows: number
  /** Claim, REST enqueue and drain on an empty table, then with the history rows in it. */
  emptyTable: HotPathFigures
  withHistory: HotPathFigures
  pruning: {
    /** The drain run while the pruner deleted history rows (the one without: withHistory). */
    drainMessagesPerSecond: number
    /** The pruner as a worker runs it (pausing between batches), while the drain ran. */
    besideDrain: { rowsDeleted: number; seconds: number; rowsPerSecond: number }
    /** Then the rest of the history, alone and without pauses: how fast a backlog can go. */
    alone: { rowsDeleted: number; seconds: number; rowsPerSecond: number }
    /** That run emptied the table, so it rebuilt the indexes (REINDEX CONCURRENTLY) after pruning. */
    compaction: { tables: string[]; seconds: number }
  }
  sizes: {
    /** After the empty-table measurements (rows deleted, VACUUM). */
    emptyTable: TableSizes
    /** With the history rows, before pruning. */
    withHistory: TableSizes
    /** Pruned (the pruner rebuilt the indexes), the drain's rows deleted, VACUUM twice (plain: no table lock). */
    afterPruneAndVacuum: TableSizes
    /** Then as many history rows again (and VACUUM): the second cycle takes no more room than the first. */
    afterRefill: TableSizes
  }
}

interface HistoryOptions {
  historyRows: number
  drain: number
  claim: { batch: number; iterations: number }
  rest: { connections: number; seconds: number; warmupSeconds: number }
  /** The environment every service gets: database, provider and the run's service settings. */
  env: Record<string, string>
  workDir: string
  meter: (servicePid: number) => () => CpuMeter
  settle: () => Promise<void>
}

/**
 * Issue 14's "tables that stay the same size": the hot path (claim p99, REST enqueue, a
 * drain) on an empty table, then with `historyRows` terminal messages from more than
 * PRUNE_AFTER_HOURS ago in it (already erased, as retention leaves them), then a drain
 * while the pruner (runHousekeeping, as a worker runs it) deletes them, and the tables'
 * sizes before and after. The services run with PRUNE_AFTER_HOURS=0: only the bench prunes.
 */
export async function history(databaseUrl: string, provider: FarEnd, options: HistoryOptions): Promise<HistoryFigures> {
  const { historyRows, drain, env, workDir, settle } = options
  const serviceEnv = { ...env, DATABASE_URL: databaseUrl, PRUNE_AFTER_HOURS: '0' }
  const withRole = async <T>(role: 'api' | 'worker', name: string, work: (service: BenchService) => Promise<T>): Promise<T> => {
    const service = await startService({ ...serviceEnv, ROLE: role }, { logFile: join(workDir, `service-history-${name}.log`) })
    try {
      await settle()
      return await work(service)
    } finally {
      await service.stop()
      await clearRecent(databaseUrl)
    }
  }
  const hotPath = async (label: string): Promise<HotPathFigures> => {
    const claims = claimTimer(databaseUrl, options.claim.batch)
    let claim: { p50Ms: number; p99Ms: number }
    try {
      await claims.measure(20, async () => {})
      await clearRecent(databaseUrl)
      await settle()
      // Without it the "empty" table held up to 50,000 sent rows by the last claim, read
      // whole on a plan made while it was empty (claim p50 35 ms, against 7.6 ms with 10M
      // analyzed rows: 2026-12-07).
      claim = await claims.measure(options.claim.iterations, () => deleteMeasured(databaseUrl))
    } finally {
      await claims.close()
      await clearRecent(databaseUrl)
    }
    const rest = await withRole('api', `api-${label}`, (api) =>
      restEnqueue(api.url, options.rest, options.meter(api.pid), databaseUrl, clearRecent),
    )
    const drained = await withRole('worker', `worker-${label}`, (worker) =>
      dispatch(databaseUrl, provider, { messages: drain }, options.meter(worker.pid)),
    )
    return {
      claimP50Ms: claim.p50Ms,
      claimP99Ms: claim.p99Ms,
      restMessagesPerSecond: rest.messagesPerSecond,
      drainMessagesPerSecond: drained.messagesPerSecond,
    }
  }

  await emptyOutbox(databaseUrl)
  const emptyTable = await hotPath('empty')
  const emptySizes = await tableSizes(databaseUrl)

  await insertHistory(databaseUrl, historyRows)
  const withHistory = await hotPath('history')
  const historySizes = await tableSizes(databaseUrl)

  const pruner = connectDatabase(databaseUrl, { poolSize: 2 })
  const prune = async (settings: { pauseFactor?: number; compactFromRows?: number }, stopped: () => boolean) => {
    const started = performance.now()
    const run = await runHousekeeping(pruner, { retentionHours: 168, pruneAfterHours: 720, ...settings }, stopped)
    const seconds = (performance.now() - started - run.compactionMs) / 1000
    return {
      pruned: { rowsDeleted: run.pruned, seconds, rowsPerSecond: run.pruned / seconds },
      compaction: { tables: run.compacted, seconds: run.compactionMs / 1000 },
    }
  }
  let pruning!: HistoryFigures['pruning']
  try {
    pruning = await withRole('worker', 'worker-pruning', async (worker) => {
      let drainEnded = false
      const besideDrain = prune({}, () => drainEnded)
      const drained = await dispatch(databaseUrl, provider, { messages: drain }, options.meter(worker.pid))
      drainEnded = true
      const beside = (await besideDrain).pruned
      if (beside.rowsDeleted === historyRows) throw new Error('the pruner finished before the drain: give it more history rows')
      // The rebuild is measured whatever the pruner beside the drain left: on a busy machine
      // that can be less than the rows a worker's own rebuild waits for (compactFromRows).
      const alone = await prune({ pauseFactor: 0, compactFromRows: 0 }, () => false)
      return { drainMessagesPerSecond: drained.messagesPerSecond, besideDrain: beside, alone: alone.pruned, compaction: alone.compaction }
    })
  } finally {
    await pruner.close()
  }
  const deleted = pruning.besideDrain.rowsDeleted + pruning.alone.rowsDeleted
  if (deleted !== historyRows) throw new Error(`the pruner deleted ${deleted} of ${historyRows} history rows`)
  if (pruning.compaction.tables.length === 0) throw new Error('pruning the whole history did not rebuild the indexes')
  // What autovacuum would do next: the heap's emptied pages go back to the free space map
  // (and a trailing empty stretch to the file system).
  for (const table of TABLES) await sql(databaseUrl, `VACUUM sms_outbox.${table}`)
  const afterPruneAndVacuum = await tableSizes(databaseUrl)

  await insertHistory(databaseUrl, historyRows)
  const afterRefill = await tableSizes(databaseUrl)
  await emptyOutbox(databaseUrl)
  return {
    historyRows,
    emptyTable,
    withHistory,
    pruning,
    sizes: { emptyTable: emptySizes, withHistory: historySizes, afterPruneAndVacuum, afterRefill },
  }
}

/**
 * `count` terminal messages (one in 50 dead, the rest sent), each with its one attempt,
 * whose last change lies 31 to 43 days back (one every 100 ms for 10M rows), erased as
 * retention leaves them: one INSERT ... SELECT generate_series, then VACUUM ANALYZE (as
 * autovacuum would).
 */
async function insertHistory(url: string, count: number): Promise<void> {
  await sql(
    url,
    `WITH old AS (
       INSERT INTO sms_outbox.messages (status, recipient, body, type, bytes, attempts, counted_attempts, max_retries,
                             next_attempt_at, created_at, updated_at, sent_at, expires_at, provider, last_error_code, erased_at)
       SELECT CASE WHEN dead THEN 'dead' ELSE 'sent' END, NULL, NULL, 'SMS', 43, 1, 1, 3,
              t, t, t, CASE WHEN dead THEN NULL ELSE t END, t + interval '1 day', 'webhook',
              CASE WHEN dead THEN '21211' END, t + interval '7 days'
       FROM (SELECT g % 50 = 0 AS dead, now() - interval '31 days' - g * interval '100 milliseconds' AS t
             FROM generate_series(1, $1::int) AS g) AS s
       RETURNING id, updated_at, status
     )
     INSERT INTO sms_outbox.message_attempts (message_id, attempt, started_at, finished_at, outcome, error_code, http_status, latency_ms)
     SELECT id, 1, updated_at, updated_at, CASE WHEN status = 'sent' THEN 'ok' ELSE 'permanent' END,
            CASE WHEN status = 'dead' THEN '21211' END, CASE WHEN status = 'sent' THEN 200 ELSE 400 END, 40
     FROM old`,
    [count],
  )
  await sql(url, 'VACUUM ANALYZE sms_outbox.messages')
  await sql(url, 'VACUUM ANALYZE sms_outbox.message_attempts')
}

async function tableSizes(url: string): Promise<TableSizes> {
  const rows = await sql<{ name: (typeof TABLES)[number]; total: string; indexes: string }>(
    url,
    `SELECT name, pg_total_relation_size(('sms_outbox.' || name)::regclass) AS total,
            pg_indexes_size(('sms_outbox.' || name)::regclass) AS indexes
     FROM unnest($1::text[]) AS name`,
    [TABLES],
  )
  const mb = (bytes: string) => Number(bytes) / 1024 / 1024
  return Object.fromEntries(rows.map((row) => [row.name, { totalMB: mb(row.total), indexesMB: mb(row.indexes) }])) as TableSizes
}
