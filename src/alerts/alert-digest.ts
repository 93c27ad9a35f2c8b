import { maskPhoneNumber, redactPhoneNumbers } from '../sms/phone-number.ts'
import type { AlertEvent } from './alert-event.ts'

// Enough examples to start an investigation; the admin API has the rest.
const EXAMPLES_KEPT = 5

/**
 * The events of one alert window folded into one message. Memory stays bounded however
 * many messages die: counts per error code, a few examples, and the (rare) pause events.
 */
export class AlertDigest {
  dead = 0
  expired = 0
  undelivered = 0
  readonly deadByErrorCode = new Map<string, number>()
  readonly undeliveredByErrorCode = new Map<string, number>()
  readonly examples: { messageId: string; to: string | null; errorCode: string | null; error: string | null }[] = []
  readonly providerChanges: Extract<AlertEvent, { kind: 'paused' | 'resumed' }>[] = []

  get empty(): boolean {
    return this.dead === 0 && this.expired === 0 && this.undelivered === 0 && this.providerChanges.length === 0
  }

  add(event: AlertEvent): void {
    // Error texts and reasons are a provider's own words, which may quote a number in full.
    switch (event.kind) {
      case 'dead': {
        this.dead += 1
        const code = event.errorCode ?? 'unknown'
        this.deadByErrorCode.set(code, (this.deadByErrorCode.get(code) ?? 0) + 1)
        this.#keepExample(event)
        break
      }
      case 'undelivered': {
        this.undelivered += 1
        const code = event.errorCode ?? 'unknown'
        this.undeliveredByErrorCode.set(code, (this.undeliveredByErrorCode.get(code) ?? 0) + 1)
        this.#keepExample({ ...event, error: `sent through ${event.provider}, not delivered (receipt)` })
        break
      }
      case 'expired':
        this.expired += 1
        this.#keepExample({ ...event, errorCode: 'expired', error: 'not sent before expires_at' })
        break
      default:
        this.providerChanges.push(event.kind === 'paused' ? { ...event, reason: redactPhoneNumbers(event.reason) } : event)
    }
  }

  /** A Slack-compatible body: `text` for people, `details` for machines. */
  toPayload(): { text: string; details: Record<string, unknown> } {
    const lines: string[] = []
    for (const change of this.providerChanges) {
      lines.push(
        change.kind === 'paused'
          ? `:warning: sms-outbox paused provider ${change.provider} (${change.errorCode}): ${change.reason}. ` +
              'Messages wait without using retries; sending resumes when a probe message goes through or an admin resumes it.'
          : `:white_check_mark: sms-outbox resumed provider ${change.provider} (${change.by === 'probe' ? 'a probe message went through' : 'by an admin'}).`,
      )
    }
    if (this.dead > 0) {
      const codes = [...this.deadByErrorCode].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} × ${n}`)
      lines.push(`:x: ${this.dead} message${this.dead === 1 ? '' : 's'} dead: ${codes.join(', ')}.`)
    }
    if (this.undelivered > 0) {
      const codes = [...this.undeliveredByErrorCode].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} × ${n}`)
      lines.push(
        `:mailbox_with_no_mail: ${this.undelivered} sent message${this.undelivered === 1 ? '' : 's'} not delivered ` +
          `(delivery receipts; not resent): ${codes.join(', ')}.`,
      )
    }
    if (this.expired > 0) {
      lines.push(`:hourglass: ${this.expired} message${this.expired === 1 ? '' : 's'} expired unsent.`)
    }
    for (const example of this.examples) {
      lines.push(`• ${example.messageId} to ${example.to}: ${example.errorCode ?? ''} ${example.error ?? ''}`.trimEnd())
    }
    return {
      text: lines.join('\n'),
      details: {
        dead: this.dead,
        expired: this.expired,
        undelivered: this.undelivered,
        deadByErrorCode: Object.fromEntries(this.deadByErrorCode),
        undeliveredByErrorCode: Object.fromEntries(this.undeliveredByErrorCode),
        providerChanges: this.providerChanges,
        examples: this.examples,
      },
    }
  }

  #keepExample(event: { messageId: string; to: string | null; errorCode: string | null; error: string | null }): void {
    if (this.examples.length >= EXAMPLES_KEPT) return
    this.examples.push({
      messageId: event.messageId,
      // null: the retention job erased the number before the receipt came.
      to: event.to === null ? null : maskPhoneNumber(event.to),
      errorCode: event.errorCode,
      // Redacted before trimming, so that the cut cannot leave part of a number unmatched.
      error: event.error === null ? null : redactPhoneNumbers(event.error).slice(0, 200),
    })
  }
}
