import type pg from 'pg'
import type { Logger } from 'pino'
import type { Alerter } from '../../alerts/alerter.ts'
import type { AttemptMetrics } from './outcome-metrics.ts'
import { withoutMessage } from '../../providers/provider-answer.ts'
import type { OutgoingSms, SendOutcome, SmsProvider } from '../../providers/provider.ts'
import type { BackoffPolicy } from './backoff.ts'
import { CallDeadlines } from './call-deadlines.ts'
import { claimDue, type ClaimedMessage, type ClaimOptions } from './claim-due.ts'
import { DatabaseClock } from './database-clock.ts'
import { CONNECTION_TIMEOUT_MS, QUERY_TIMEOUT_MS } from '../../db/pool.ts'
import { PlanRefresh } from '../../db/plan-refresh.ts'
import { expireOverdue } from './expire-overdue.ts'
import { groupCommit } from '../enqueue/group-commit.ts'
import { pauseProvider, resumeProvider } from './provider-pauses.ts'
import { reclaimExpired } from './reclaim-expired.ts'
import { recordOutcomes, type AttemptResult } from './record-outcomes.ts'
import { releaseClaims } from './release-claims.ts'
import { retryUntilStored } from './retry-until-stored.ts'
import { settle } from './settle.ts'

export interface DispatcherOptions {
  /** Every statement of the dispatcher runs on the pg pool (not through Prisma; see performance.md). */
  pool: pg.Pool
  provider: SmsProvider
  log: Logger
  alerts: Alerter
  backoff: BackoffPolicy
  leaseMs: number
  providerTimeoutMs: number
  batchSize: number
  /** Provider calls in flight at most; the dispatcher claims no more rows than it can send. */
  concurrency: number
  pollIntervalMs: number
  /** While the provider is paused, one probe message per this interval. */
  probeIntervalMs: number
  /** Shared by every dispatcher of the provider, through PostgreSQL. Unset: no limit. */
  rateLimit?: ClaimOptions['rateLimit']
  /** Shared by every dispatcher of the provider, through PostgreSQL. Unset: no budget. */
  retryBudget?: ClaimOptions['retryBudget']
  /** Told of every provider call: its outcome and latency. */
  metrics?: AttemptMetrics
  /**
   * For a provider whose receipts are polled (see ReceiptPoller): a sent message is first
   * asked about this long after it was sent. Unset: sent messages are never polled.
   */
  deliveryCheckAfterMs?: number
  /** Moments tests wait for instead of sleeping; the service leaves it unset. */
  signals?: DispatcherSignals
  /** The loop's cadence and wake-ups run on it; tests pass a fake one. Default: the process's. */
  clock?: LoopClock
}

/** The time the loop reads and the timers it sets. Provider timeouts and latencies stay real. */
export interface LoopClock {
  now(): number
  setTimeout(callback: () => void, ms: number): NodeJS.Timeout
  clearTimeout(timer: NodeJS.Timeout): void
}

/**
 * Rows a dispatcher keeps claimed ahead of its calls: what its `concurrency` calls carry,
 * this many times over (at most a batch). A claim then takes many rows while calls still
 * run, instead of a few each time calls return, and a call starts as soon as another one
 * ends, without waiting for a claim. Measured (bench `dispatch`, the webhook, one message
 * per call, quiet runs): 16 rows per claim and 2,790 msg/s without it, 51 and 4,200 with it.
 */
const CLAIMED_AHEAD = 3

/**
 * How long an outcome write waits for more outcomes, at most: until it carries half the
 * rows this dispatcher holds (a full write could hold up its claims, see #freeSlots).
 * Each of several dispatchers on one database finishes fewer calls during a write than
 * one alone: 4 wrote 19 rows a statement where 1 wrote 55, and PostgreSQL spent 1.7
 * times the CPU per message. The wait costs a message up to this much longer in
 * `sending` after the provider answered, and a kill -9 that much more resent as
 * ambiguous; River's batch completer waits up to 250 ms for the same trade. Measured
 * (bench `scale`, 2026-12-07): 4 workers wrote 46-52 rows a statement and drained
 * 5,050-6,020 msg/s, against 4,780-4,850 without it.
 */
const OUTCOME_FILL_WAIT_MS = 20

/** Lease left over for a queued row's call beyond PROVIDER_TIMEOUT_MS: the claim's own round trip. */
const LEASE_MARGIN_MS = 1_000

/**
 * The longest a claim's caller waits for its answer (the pool's wait for a connection,
 * then for the statement): a claim that starts later claims nothing (claimDue's deadline).
 */
const CLAIM_ANSWER_WAIT_MS = CONNECTION_TIMEOUT_MS + QUERY_TIMEOUT_MS

const processClock: LoopClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer),
}

/** What one pass of the loop did. Passes without a sweep report 0 reclaimed and 0 expired. */
export interface PassSummary {
  claimed: number
  reclaimed: number
  expired: number
}

/** How one attempt ended for its message: the status written, or why none was. */
export type AttemptEnd = AttemptResult['status'] | 'lease_lost' | 'not_recorded'

/**
 * Test signals (River's name for them): called synchronously at points tests wait for,
 * so that they can await what the loop did rather than sleep and hope it has.
 */
export interface DispatcherSignals {
  /** A pass ended without an error. */
  passed?(summary: PassSummary): void
  /** An attempt is over: its outcome written (or refused), its alerts raised, a probe's resume done. */
  attempted?(attempt: { id: string; end: AttemptEnd }): void
}

/**
 * Moves due messages to the provider: claim under a lease, send, record the outcome.
 * `start()` runs passes until `stop()`, waking on `wake()` (new rows) or every poll
 * interval; tests follow the passes through `signals`.
 */
export class Dispatcher {
  readonly #options: DispatcherOptions
  readonly #clock: LoopClock
  /** Calls not finished: the provider call, then its outcomes' writes. stop() waits for them. */
  readonly #deliveries = new Set<Promise<void>>()
  /** Messages in those: from the start of their call until their outcome is written. */
  #delivering = 0
  /** Provider calls running now; `concurrency` bounds them. */
  #calls = 0
  /** Messages in those calls. */
  #calling = 0
  /**
   * Claimed, waiting for a free call: rows claimed ahead so that a claim takes many at
   * once instead of one per finished call. `claimedAt` is this process's clock.
   */
  readonly #queued: { message: ClaimedMessage; claimedAt: number }[] = []
  /** Writes that give unsent claimed rows back. */
  readonly #releasing = new Set<Promise<void>>()
  /** Rows this dispatcher holds at most: in calls and queued for them. */
  readonly #capacity: number
  /** How long a row may wait in the queue and still have its lease outlast its call. */
  readonly #queueWaitMs: number
  /** Messages one provider call carries at most: 1, unless the provider sends batches. */
  readonly #perCall: number
  readonly #recorder: ReturnType<typeof groupCommit<AttemptResult, boolean>>
  readonly #deadlines: CallDeadlines
  /** For the claims' deadlines, in the database's time. */
  readonly #databaseClock: DatabaseClock
  readonly #plans: PlanRefresh
  #stopping = false
  #loop: Promise<void> | undefined
  #wakeUp: (() => void) | undefined
  /** A wake() that came while a pass was running: the pass may have missed its rows. */
  #wakeRequested = false
  /** The last claim took all it asked for: more rows are probably due. */
  #backlog = false
  #lastSweepAt = Number.NEGATIVE_INFINITY
  /** One per retry this dispatcher scheduled: wakes it when the retry comes due. */
  readonly #retryTimers = new Set<NodeJS.Timeout>()

  constructor(options: DispatcherOptions) {
    this.#options = options
    this.#clock = options.clock ?? processClock
    this.#databaseClock = new DatabaseClock(() => this.#clock.now())
    this.#plans = new PlanRefresh(options.pool)
    const { provider, batchSize } = options
    this.#perCall = provider.sendMany ? Math.max(1, Math.min(batchSize, provider.batchLimit ?? 1)) : 1
    const inCalls = options.concurrency * this.#perCall
    // A lease too short to wait in a queue and then last a whole call: nothing is claimed ahead.
    this.#queueWaitMs = Math.max(0, options.leaseMs - options.providerTimeoutMs - LEASE_MARGIN_MS)
    this.#capacity = inCalls + (this.#queueWaitMs > 0 ? Math.min(batchSize, inCalls * CLAIMED_AHEAD) : 0)
    this.#deadlines = new CallDeadlines(options.providerTimeoutMs)
    this.#recorder = groupCommit(async (results: AttemptResult[]) => {
      const written = new Set(
        await retryUntilStored(() => recordOutcomes(options.pool, results), {
          withinMs: options.leaseMs,
          onFailure: (error) => options.log.warn({ err: error }, 'recording outcomes failed; retrying'),
        }),
      )
      return results.map((result) => written.has(result.id))
    }, { fill: { items: Math.ceil(Math.min(this.#capacity, batchSize) / 2), waitMs: OUTCOME_FILL_WAIT_MS } })
  }

  start(): void {
    this.#loop ??= this.#run()
  }

  /** Runs the next pass now instead of at the next poll. */
  wake(): void {
    if (this.#wakeUp) this.#wakeUp()
    else this.#wakeRequested = true
  }

  /** Claims nothing more, lets in-flight sends finish and their outcomes be written. */
  async stop(): Promise<void> {
    this.#stopping = true
    for (const timer of this.#retryTimers) this.#clock.clearTimeout(timer)
    this.#retryTimers.clear()
    this.wake()
    await this.#loop
    // Rows still queued have not gone out: they go back, due at once for whoever runs next.
    this.#release(this.#queued.splice(0).map(({ message }) => message))
    await Promise.all(this.#deliveries)
    await Promise.all(this.#releasing)
    await this.#recorder.drain()
    this.#plans.close()
  }

  async #run(): Promise<void> {
    const { log, pollIntervalMs, signals } = this.#options
    let failedPasses = 0
    while (!this.#stopping) {
      // Passes keep a fixed cadence and claim first, so a row that comes due waits at most
      // one poll interval for its claim, not an interval plus the sweep and the pass before
      // it (chaos scenario 8: 230 ms pickups with a 200 ms poll).
      const passStarted = this.#clock.now()
      try {
        const claimed = await this.#claimAndSend()
        // Expired leases (a crashed or hung dispatcher) and expiries are rare; once per poll is enough.
        const sweepDue = this.#clock.now() - this.#lastSweepAt >= pollIntervalMs
        const swept = sweepDue ? await this.#sweep() : { reclaimed: 0, expired: 0 }
        failedPasses = 0
        signals?.passed?.({ claimed, ...swept })
        if (this.#backlog && this.#canRefill()) continue
      } catch (error) {
        failedPasses += 1
        // One failure is usually a connection the server ended (a restart, pg_terminate_backend),
        // which the pool has already replaced: the next pass need not wait a poll. Twice in a
        // row, the database itself is in trouble.
        log.error({ err: error }, `dispatch pass failed; trying again ${failedPasses === 1 ? 'at once' : 'at the next poll'}`)
        if (failedPasses === 1) continue
      }
      await this.#sleep(pollIntervalMs - (this.#clock.now() - passStarted))
    }
  }

  /** Takes back rows from dispatchers that went quiet, and expires rows that ran out of time. */
  async #sweep(): Promise<{ reclaimed: number; expired: number }> {
    const { pool, batchSize, log, alerts } = this.#options
    this.#lastSweepAt = this.#clock.now()
    const reclaimed = await reclaimExpired(pool, { limit: batchSize })
    if (reclaimed.length > 0) {
      log.warn({ messageIds: reclaimed.map((m) => m.id) }, `reclaimed ${reclaimed.length} messages whose lease expired`)
    }
    for (const message of reclaimed.filter((m) => m.status === 'dead')) {
      alerts.notify({
        kind: 'dead',
        messageId: message.id,
        to: message.to,
        provider: message.provider,
        errorCode: 'lease_expired',
        error: 'the last attempt never reported back',
      })
    }
    const expired = await expireOverdue(pool, { limit: batchSize })
    if (expired.length > 0) {
      log.warn({ messageIds: expired.map((m) => m.id) }, `${expired.length} messages expired unsent`)
    }
    for (const message of expired) alerts.notify({ kind: 'expired', messageId: message.id, to: message.to })
    return { reclaimed: reclaimed.length, expired: expired.length }
  }

  /**
   * Rows this dispatcher may claim now, a batch at most: room in its capacity (rows in
   * calls and queued for them), while outcomes still being written stay under as much
   * again (a slow database slows claiming). Room is free once the provider has answered;
   * holding it until the outcome was written too left the provider idle for a database
   * round trip after every batch.
   */
  #freeSlots(): number {
    const held = this.#calling + this.#queued.length
    return Math.min(this.#options.batchSize, this.#capacity - held, 2 * this.#capacity - held - this.#recording)
  }

  /** Messages whose call is over and whose outcome is being written. */
  get #recording(): number {
    return this.#delivering - this.#calling
  }

  /**
   * Whether a backlog is worth another claim now. Each claim is a statement and a commit,
   * so wait until half the capacity is free (unless nothing at all is running) rather
   * than claim as each call returns.
   */
  #canRefill(): boolean {
    const free = this.#freeSlots()
    return free > 0 && (free >= Math.ceil(Math.min(this.#options.batchSize, this.#capacity) / 2) || this.#delivering === 0)
  }

  /** Claims what there is room for, queues it and starts calls; returns the rows claimed. */
  async #claimAndSend(): Promise<number> {
    const { pool, provider, leaseMs, probeIntervalMs, rateLimit, retryBudget } = this.#options
    const limit = this.#freeSlots()
    if (limit <= 0 || this.#stopping) return 0
    const sentAt = this.#clock.now()
    const { messages: claimed, claimAgainInMs, databaseTime, outboxBytes } = await claimDue(pool, {
      limit,
      leaseMs,
      provider: provider.name,
      probeIntervalMs,
      rateLimit,
      retryBudget,
      deadline: this.#databaseClock.inMs(CLAIM_ANSWER_WAIT_MS),
    })
    this.#databaseClock.observe(databaseTime, sentAt, this.#clock.now())
    this.#plans.observeOutboxSize(outboxBytes)
    this.#backlog = claimed.length === limit
    // Held back by the rate limit, a backlog is claimed again as soon as the limit allows
    // another message, not a poll interval later.
    if (claimAgainInMs !== null) this.#wakeAfter(claimAgainInMs)
    const claimedAt = performance.now()
    for (const message of claimed) this.#queued.push({ message, claimedAt })
    this.#startCalls()
    return claimed.length
  }

  /**
   * Starts calls for queued rows while `concurrency` allows (none once stopping). A row
   * whose lease could run out during its call (a provider slow enough to keep it queued
   * for most of LEASE_MS) is not sent but released: due again, for this dispatcher or
   * another, with a fresh lease.
   */
  #startCalls(): void {
    const { concurrency } = this.#options
    while (!this.#stopping && this.#calls < concurrency && this.#queued.length > 0) {
      const batch: ClaimedMessage[] = []
      const stale: ClaimedMessage[] = []
      while (batch.length < this.#perCall && this.#queued.length > 0) {
        const { message, claimedAt } = this.#queued.shift()!
        if (this.#queueWaitMs > 0 && performance.now() - claimedAt > this.#queueWaitMs) stale.push(message)
        else batch.push(message)
      }
      this.#release(stale)
      if (batch.length > 0) this.#send(batch)
    }
  }

  /** Gives claimed rows back unsent (releaseClaims); stop() waits for it. */
  #release(messages: ClaimedMessage[]): void {
    if (messages.length === 0) return
    const { pool, log } = this.#options
    const releasing: Promise<void> = releaseClaims(pool, messages)
      .then((released) => log.info(`gave back ${released} claimed messages unsent; they are due again`))
      // Not given back, they return when their lease expires (reclaimExpired).
      .catch((error: unknown) => log.warn({ err: error }, 'could not give back claimed messages; they return when their lease expires'))
      .finally(() => {
        this.#releasing.delete(releasing)
        this.wake()
      })
    this.#releasing.add(releasing)
  }

  /** One provider call for `messages`; then each message's outcome is settled and recorded. */
  #send(messages: ClaimedMessage[]): void {
    this.#calls += 1
    this.#calling += messages.length
    this.#delivering += messages.length
    const delivery = this.#deliver(messages).finally(() => this.#deliveries.delete(delivery))
    this.#deliveries.add(delivery)
  }

  /**
   * One async function per call rather than a chain of promises and closures per message,
   * which at one message per call were garbage made for every message sent (with
   * provider-http's dispatch handler: 235 → 175 µs of worker time per message, bench
   * `dispatch`, docs/performance.md).
   */
  async #deliver(messages: ClaimedMessage[]): Promise<void> {
    const started = performance.now()
    let outcomes: SendOutcome[]
    try {
      outcomes = await this.#call(messages)
    } finally {
      this.#calls -= 1
      this.#calling -= messages.length
      this.#startCalls()
      if (this.#backlog && this.#canRefill()) this.wake()
    }
    const latencyMs = performance.now() - started
    // Once per call: a batch refused for the account's sake would otherwise pause as
    // many times as it had messages.
    const account = outcomes.find((outcome) => outcome.kind === 'account')
    if (account && account.kind !== 'ok') await this.#pause(account.errorCode, account.errorMessage)
    await Promise.all(messages.map((message, index) => this.#record(message, outcomes[index], latencyMs)))
  }

  /** The provider's outcome for each of `messages`, in order; never rejects. */
  async #call(messages: ClaimedMessage[]): Promise<SendOutcome[]> {
    const signal = this.#deadlines.next()
    const batch = messages.map(({ id, to, text, type }) => ({ id, to, text, type }))
    // Every outcome is scrubbed of its message here, before the pause, the write, the log
    // line or the alert that may carry its words.
    const outcomes = await this.#outcomesOf(batch, signal)
    return outcomes.map((outcome, index) => withoutMessage(outcome, batch[index]))
  }

  async #outcomesOf(batch: OutgoingSms[], signal: AbortSignal): Promise<SendOutcome[]> {
    const { provider } = this.#options
    try {
      if (batch.length === 1 || !provider.sendMany) return [await provider.send(batch[0], signal)]
      const outcomes = await provider.sendMany(batch, signal)
      if (outcomes.length !== batch.length) {
        throw new Error(`it answered ${outcomes.length} outcomes for ${batch.length} messages`)
      }
      return outcomes
    } catch (error) {
      const outcome: SendOutcome = {
        kind: 'ambiguous',
        errorCode: 'provider_error',
        errorMessage: `the ${provider.name} provider failed unexpectedly: ${String(error)}`,
      }
      return batch.map(() => outcome)
    }
  }

  /** Writes one message's outcome (through the group commit) and tells whom it concerns. */
  async #record(message: ClaimedMessage, outcome: SendOutcome, latencyMs: number): Promise<void> {
    try {
      const end = await this.#recordOutcome(message, outcome, latencyMs)
      this.#options.signals?.attempted?.({ id: message.id, end })
    } finally {
      this.#delivering -= 1
      if (this.#backlog && this.#canRefill()) this.wake()
    }
  }

  async #recordOutcome(message: ClaimedMessage, outcome: SendOutcome, latencyMs: number): Promise<AttemptEnd> {
    const { provider, backoff, log } = this.#options
    this.#options.metrics?.recordAttempt(provider.name, outcome.kind, latencyMs / 1000)
    const settled = settle(message, outcome, latencyMs, backoff)
    const { deliveryCheckAfterMs } = this.#options
    const result = settled.status === 'sent' && deliveryCheckAfterMs !== undefined ? { ...settled, deliveryCheckAfterMs } : settled
    const context = { messageId: message.id, attempt: message.attempts, outcome: result.outcome }
    try {
      const recorded = await this.#recorder.add(result)
      if (!recorded) {
        log.warn(context, 'outcome not recorded: the lease was lost and the message was reclaimed')
        return 'lease_lost'
      }
      if (result.status === 'sent') {
        log.debug(context, 'message sent')
        if (message.probe) await this.#resume()
        return 'sent'
      }
      if (result.status === 'pending') this.#wakeAfter(result.delayMs)
      log.warn({ ...context, status: result.status, errorCode: result.errorCode }, result.errorMessage ?? '')
      if (result.status === 'dead') {
        this.#options.alerts.notify({
          kind: 'dead',
          messageId: message.id,
          to: message.to,
          provider: provider.name,
          errorCode: result.errorCode,
          error: result.errorMessage,
        })
      }
      return result.status
    } catch (error) {
      log.error({ ...context, err: error }, 'outcome could not be recorded; the lease will expire and the message be retried')
      return 'not_recorded'
    }
  }

  /**
   * Runs a pass after `delayMs`: when a retry this dispatcher scheduled comes due, or the
   * rate limit lets another message out. Without it they wait for the next poll: up to
   * POLL_INTERVAL_MS (1 s by default) on top of a 1 s first backoff step, and a sweep and
   * a claim more under load. Another dispatcher may claim the rows first; then this pass
   * finds nothing, which costs one query.
   */
  #wakeAfter(delayMs: number): void {
    if (this.#stopping) return
    const timer = this.#clock.setTimeout(() => {
      this.#retryTimers.delete(timer)
      this.wake()
    }, delayMs)
    timer.unref()
    this.#retryTimers.add(timer)
  }

  /** Stops every dispatcher sending through this provider; the first to see it alerts. */
  async #pause(errorCode: string, reason: string): Promise<void> {
    const { pool, provider, probeIntervalMs, log, alerts } = this.#options
    try {
      const created = await pauseProvider(pool, { provider: provider.name, errorCode, reason, probeIntervalMs })
      if (!created) return
      log.error({ provider: provider.name, errorCode }, `provider ${provider.name} paused: ${reason}`)
      alerts.notify({ kind: 'paused', provider: provider.name, errorCode, reason })
    } catch (error) {
      // The message is still rescheduled without using a retry; the next account error pauses.
      log.error({ err: error, provider: provider.name }, 'could not record the provider pause')
    }
  }

  async #resume(): Promise<void> {
    const { pool, provider, log, alerts } = this.#options
    try {
      if (!(await resumeProvider(pool, provider.name))) return
      log.info({ provider: provider.name }, `provider ${provider.name} resumed: a probe message went through`)
      alerts.notify({ kind: 'resumed', provider: provider.name, by: 'probe' })
    } catch (error) {
      // The pause stays; the next probe tries again.
      log.error({ err: error, provider: provider.name }, 'could not lift the provider pause')
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#wakeRequested || this.#stopping) {
      this.#wakeRequested = false
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const done = () => {
        this.#clock.clearTimeout(timer)
        this.#wakeUp = undefined
        resolve()
      }
      const timer = this.#clock.setTimeout(done, ms)
      this.#wakeUp = done
    })
  }
}
