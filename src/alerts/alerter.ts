import pRetry, { AbortError } from 'p-retry'
import type { Logger } from 'pino'
import { Agent, request } from 'undici'
import { AlertDigest } from './alert-digest.ts'
import type { AlertEvent } from './alert-event.ts'

export interface Alerter {
  /** Never blocks and never throws: dispatch must not wait on, or fail with, alerting. */
  notify(event: AlertEvent): void
  /** Sends what is pending (giving up after a few seconds), then stops. */
  close(): Promise<void>
}

export interface AlerterOptions {
  /** ALERT_WEBHOOK_URL; without one, alerts go nowhere (the dispatcher logs each event anyway). */
  url: string | undefined
  /** At most one POST per window: a burst of failures becomes one digest. */
  windowMs: number
  log: Logger
  requestTimeoutMs?: number
  retries?: number
  /** Times the window; tests pass a fake clock's. Retries and the close grace stay on real time. */
  timers?: WindowTimers
}

/** The timer functions the window uses. */
export interface WindowTimers {
  setTimeout(callback: () => void, ms: number): NodeJS.Timeout
  clearTimeout(timer: NodeJS.Timeout | undefined): void
}

const processTimers: WindowTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer),
}

// A shutdown waits this long for a pending alert, no longer.
const CLOSE_GRACE_MS = 3_000

/**
 * POSTs grouped alerts to a Slack-compatible webhook. Events collect in a digest; the
 * first event of a quiet period starts a window, and when it ends the digest goes out as
 * one POST, retried with p-retry. Events that arrive while a POST is retrying wait for
 * the next window, so a failing endpoint costs memory for one bounded digest, nothing more.
 */
export function createAlerter({ url, windowMs, log, requestTimeoutMs = 5_000, retries = 4, timers = processTimers }: AlerterOptions): Alerter {
  if (!url) return { notify: () => {}, close: async () => {} }
  const agent = new Agent({ keepAliveTimeout: 10_000 })
  const closing = new AbortController()
  let digest = new AlertDigest()
  let timer: NodeJS.Timeout | undefined
  let sending: Promise<void> | undefined
  let closed = false

  const schedule = () => {
    if (timer || sending || closed || digest.empty) return
    timer = timers.setTimeout(flush, windowMs)
    timer.unref()
  }

  const flush = () => {
    timer = undefined
    if (digest.empty) return
    const payload = digest.toPayload()
    digest = new AlertDigest()
    sending = post(payload)
      .catch((error: unknown) => log.error({ err: error, alert: payload.details }, 'alert could not be delivered'))
      .finally(() => {
        sending = undefined
        schedule()
      })
  }

  const post = (payload: object) =>
    pRetry(
      async () => {
        const response = await request(url, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(payload),
          signal: AbortSignal.any([closing.signal, AbortSignal.timeout(requestTimeoutMs)]),
        })
        await response.body.dump()
        if (response.statusCode < 300) return
        const failure = new Error(`the alert webhook answered ${response.statusCode}`)
        // A 4xx other than these will not change on a retry.
        const worthRetrying = response.statusCode >= 500 || [408, 429].includes(response.statusCode)
        throw worthRetrying ? failure : new AbortError(failure)
      },
      { retries, factor: 2, minTimeout: 500, maxTimeout: 10_000, signal: closing.signal },
    )

  return {
    notify(event) {
      digest.add(event)
      schedule()
    },
    async close() {
      closed = true
      timers.clearTimeout(timer)
      setTimeout(() => closing.abort(), CLOSE_GRACE_MS).unref()
      await sending
      flush()
      await sending
      await agent.close()
    },
  }
}
