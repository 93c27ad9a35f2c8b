import type { Logger } from 'pino'
import type { PrismaClient } from '../db/database.ts'
import type { SendOutcome, SmsProvider } from '../providers/provider.ts'
import type { BackoffPolicy } from './backoff.ts'
import { claimDue, type ClaimedMessage } from './claim-due.ts'
import { groupCommit } from './group-commit.ts'
import { reclaimExpired } from './reclaim-expired.ts'
import { recordOutcomes, type AttemptResult } from './record-outcomes.ts'
import { retryUntilStored } from './retry.ts'
import { settle } from './settle.ts'

export interface DispatcherOptions {
  prisma: PrismaClient
  provider: SmsProvider
  log: Logger
  backoff: BackoffPolicy
  leaseMs: number
  providerTimeoutMs: number
  batchSize: number
  /** Provider calls in flight at most; the dispatcher claims no more rows than it can send. */
  concurrency: number
  pollIntervalMs: number
}

/** What one pass did. */
export interface TickSummary {
  reclaimed: number
  claimed: number
}

/**
 * Moves due messages to the provider: claim under a lease, send, record the outcome.
 * `start()` runs passes until `stop()`, waking on `wake()` (new rows) or every poll
 * interval; tests call `tick()` to run exactly one pass and wait for it.
 */
export class Dispatcher {
  readonly #options: DispatcherOptions
  readonly #inFlight = new Set<Promise<void>>()
  readonly #recorder: ReturnType<typeof groupCommit<AttemptResult, boolean>>
  #stopping = false
  #loop: Promise<void> | undefined
  #wakeUp: (() => void) | undefined
  /** A wake() that came while a pass was running: the pass may have missed its rows. */
  #wakeRequested = false
  /** The last claim took all it asked for: more rows are probably due. */
  #backlog = false
  #lastReclaimAt = Number.NEGATIVE_INFINITY

  constructor(options: DispatcherOptions) {
    this.#options = options
    this.#recorder = groupCommit(async (results: AttemptResult[]) => {
      const written = new Set(
        await retryUntilStored(() => recordOutcomes(options.prisma, results), {
          withinMs: options.leaseMs,
          onFailure: (error) => options.log.warn({ err: error }, 'recording outcomes failed; retrying'),
        }),
      )
      return results.map((result) => written.has(result.id))
    })
  }

  /** Messages being sent right now. */
  get inFlight(): number {
    return this.#inFlight.size
  }

  /** One pass: reclaim expired leases, claim what free slots allow, send, record. */
  async tick(): Promise<TickSummary> {
    const reclaimed = await this.#reclaim()
    const sends = await this.#claimAndSend()
    await Promise.all(sends)
    return { reclaimed, claimed: sends.length }
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
    this.wake()
    await this.#loop
    await Promise.all(this.#inFlight)
    await this.#recorder.drain()
  }

  async #run(): Promise<void> {
    const { log, pollIntervalMs } = this.#options
    while (!this.#stopping) {
      try {
        // Expired leases are rare (a crashed or hung dispatcher); once per poll is enough.
        if (performance.now() - this.#lastReclaimAt >= pollIntervalMs) await this.#reclaim()
        await this.#claimAndSend()
        if (this.#backlog && this.#inFlight.size < this.#options.concurrency) continue
      } catch (error) {
        log.error({ err: error }, 'dispatch pass failed; trying again at the next poll')
      }
      await this.#sleep(pollIntervalMs)
    }
  }

  async #reclaim(): Promise<number> {
    this.#lastReclaimAt = performance.now()
    const ids = await reclaimExpired(this.#options.prisma, { limit: this.#options.batchSize })
    if (ids.length > 0) {
      this.#options.log.warn({ messageIds: ids }, `reclaimed ${ids.length} messages whose lease expired`)
    }
    return ids.length
  }

  async #claimAndSend(): Promise<Promise<void>[]> {
    const { prisma, provider, leaseMs, batchSize, concurrency } = this.#options
    const limit = Math.min(batchSize, concurrency - this.#inFlight.size)
    if (limit <= 0 || this.#stopping) return []
    const claimed = await claimDue(prisma, { limit, leaseMs, provider: provider.name })
    this.#backlog = claimed.length === limit
    return claimed.map((message) => {
      const send = this.#deliver(message).finally(() => {
        this.#inFlight.delete(send)
        if (this.#backlog) this.wake()
      })
      this.#inFlight.add(send)
      return send
    })
  }

  async #deliver(message: ClaimedMessage): Promise<void> {
    const { provider, providerTimeoutMs, backoff, log } = this.#options
    const started = performance.now()
    const outcome = await provider
      .send(
        { id: message.id, to: message.to, text: message.text, type: message.type },
        AbortSignal.timeout(providerTimeoutMs),
      )
      .catch(
        (error: unknown): SendOutcome => ({
          kind: 'ambiguous',
          errorCode: 'provider_error',
          errorMessage: `the ${provider.name} provider failed unexpectedly: ${String(error)}`,
        }),
      )
    const result = settle(message, outcome, performance.now() - started, backoff)
    const context = { messageId: message.id, attempt: message.attempts, outcome: result.outcome }
    try {
      const recorded = await this.#recorder.add(result)
      if (!recorded) {
        log.warn(context, 'outcome not recorded: the lease was lost and the message was reclaimed')
      } else if (result.status === 'sent') {
        log.debug(context, 'message sent')
      } else {
        log.warn({ ...context, status: result.status, errorCode: result.errorCode }, result.errorMessage ?? '')
      }
    } catch (error) {
      log.error({ ...context, err: error }, 'outcome could not be recorded; the lease will expire and the message be retried')
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#wakeRequested || this.#stopping) {
      this.#wakeRequested = false
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.#wakeUp = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.#wakeUp = done
    })
  }
}
