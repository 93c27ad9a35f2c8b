import { setTimeout } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { Database } from '../../db/database.ts'
import { runPeriodically } from '../../periodic-task.ts'
import { compactIfMostlyPruned, estimatedMessageRows } from './compact-indexes.ts'
import { pruneTerminalMessages } from './prune-terminal.ts'
import { dropStaleAdminRows, eraseOldAdminActionNumbers, eraseOldPersonalData, type HousekeepingBatch } from './retention.ts'

export interface HousekeepingSettings {
  /** RETENTION_HOURS: terminal messages older than this lose everything personal. */
  retentionHours: number
  /** PRUNE_AFTER_HOURS: terminal messages older than this are deleted; 0 = never. */
  pruneAfterHours: number
  /**
   * Rows per statement. 1,000 rows: each statement holds its row locks for a few
   * milliseconds (bench phase `history`), and a run still gets through 100M rows a day.
   */
  batchSize?: number
  /**
   * After each full batch, a pause this many times as long as the batch took, so that a
   * backlog is worked off in the background: 2 leaves the database two thirds of the time
   * the pruner would take. Measured (bench phase `history`, quick, 2 busy cores): a drain
   * kept 0.73x its rate beside a pruner that never paused, 0.71x to 0.95x beside one that
   * paused as long as each batch took. At 2 the pruner still deletes thousands of rows a
   * second, several times the 1,160 a second of 100M messages a day.
   */
  pauseFactor?: number
  /**
   * A run that deletes at least half of `messages`, when it held at least this many rows,
   * rebuilds the indexes of the pruned tables (compactPrunedIndexes): the first prune of a
   * long history gives its index space back. Smaller tables are not worth a rebuild.
   */
  compactFromRows?: number
}

export interface HousekeepingRun {
  /** Messages whose personal data this run erased. */
  erased: number
  /** Suppression admin actions whose number this run erased. */
  erasedActions: number
  /** Messages this run deleted, with their attempts. */
  pruned: number
  /** Expired admin sessions and failed logins past the login limit's minute, deleted. */
  staleAdminRows: number
  /** Tables whose indexes this run rebuilt after pruning most of them, and how long that took. */
  compacted: string[]
  compactionMs: number
}

const DEFAULT_BATCH_SIZE = 1_000
const DEFAULT_COMPACT_FROM_ROWS = 100_000

/**
 * Runs `batch` from the oldest row on, each time from where the last one stopped, until a
 * batch comes back short or `stopped()` says so. Returns the rows it took in all.
 */
async function inBatches(
  batch: (after: Date | null) => Promise<HousekeepingBatch>,
  { limit, pauseFactor, stopped }: { limit: number; pauseFactor: number; stopped: () => boolean },
): Promise<number> {
  let total = 0
  let after: Date | null = null
  for (;;) {
    const started = performance.now()
    const { count, through } = await batch(after)
    total += count
    if (count < limit || stopped()) return total
    after = through
    if (pauseFactor > 0) await setTimeout((performance.now() - started) * pauseFactor)
  }
}

/**
 * One housekeeping run: retention (and stale admin sessions and failed logins), then
 * pruning, each in batches until nothing is due, then the indexes' compaction when the
 * pruning emptied most of the table.
 * Every worker may run it at once: SKIP LOCKED keeps them apart. A failing part does not
 * keep the other from running; the first error is thrown once both have had their turn.
 */
export async function runHousekeeping(
  { pool }: Pick<Database, 'pool'>,
  {
    retentionHours,
    pruneAfterHours,
    batchSize = DEFAULT_BATCH_SIZE,
    pauseFactor = 2,
    compactFromRows = DEFAULT_COMPACT_FROM_ROWS,
  }: HousekeepingSettings,
  stopped: () => boolean = () => false,
): Promise<HousekeepingRun> {
  const batches = { limit: batchSize, pauseFactor, stopped }
  const run: HousekeepingRun = { erased: 0, erasedActions: 0, pruned: 0, staleAdminRows: 0, compacted: [], compactionMs: 0 }
  const errors: unknown[] = []
  try {
    run.erased = await inBatches(
      (after) => eraseOldPersonalData(pool, { retentionHours, limit: batchSize, after }),
      batches,
    )
    run.erasedActions = await eraseOldAdminActionNumbers(pool, { retentionHours })
    run.staleAdminRows = await dropStaleAdminRows(pool)
  } catch (error) {
    errors.push(error)
  }
  if (pruneAfterHours > 0) {
    try {
      const rowsBefore = await estimatedMessageRows(pool)
      run.pruned = await inBatches(
        (after) => pruneTerminalMessages(pool, { pruneAfterHours, limit: batchSize, after }),
        batches,
      )
      // Other workers prune beside this one, so this run's share alone says little: the
      // table's own estimate, refreshed, says how much of it is left. The first check
      // spares that to the runs that pruned a day's rows as usual.
      if (!stopped() && rowsBefore >= compactFromRows && run.pruned >= rowsBefore / 10) {
        const started = performance.now()
        run.compacted = await compactIfMostlyPruned(pool, rowsBefore)
        if (run.compacted.length > 0) run.compactionMs = performance.now() - started
      }
    } catch (error) {
      errors.push(error)
    }
  }
  if (errors.length > 0) throw errors[0]
  return run
}

export interface Housekeeping {
  /** Waits for a run in progress (it stops after its current batch), then stops. */
  stop(): Promise<void>
}

/**
 * Runs housekeeping now and every `intervalMs` (HOUSEKEEPING_INTERVAL_MS); a run still
 * going when the next is due is not doubled.
 */
export function startHousekeeping(
  database: Pick<Database, 'pool'>,
  { intervalMs, log, ...settings }: HousekeepingSettings & { intervalMs: number; log: Logger },
): Housekeeping {
  let stopped = false
  const run = async () => {
    const done = await runHousekeeping(database, settings, () => stopped)
    if (done.erased > 0) log.info({ erased: done.erased }, `erased the personal data of ${done.erased} messages older than ${settings.retentionHours} h`)
    if (done.erasedActions > 0) log.info({ actions: done.erasedActions }, `erased the numbers of ${done.erasedActions} suppression admin actions older than ${settings.retentionHours} h`)
    if (done.pruned > 0) log.info({ pruned: done.pruned }, `deleted ${done.pruned} terminal messages older than ${settings.pruneAfterHours} h`)
    if (done.compacted.length > 0) log.info({ tables: done.compacted }, `rebuilt the indexes of ${done.compacted.join(' and ')} in ${Math.round(done.compactionMs / 1000)} s: pruning emptied most of them`)
  }
  const task = runPeriodically(intervalMs, run, (error) =>
    log.warn({ err: error }, 'housekeeping run failed; trying again at the next interval'),
  )
  return {
    async stop() {
      stopped = true
      await task.stop()
    },
  }
}
