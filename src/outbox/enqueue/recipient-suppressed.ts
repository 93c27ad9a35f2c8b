import type { RecipientRefusal } from '../../domain/outcome.ts'
import { maskPhoneNumber } from '../../sms/phone-number.ts'

/**
 * `last_error_code` of a message that was accepted, then its number was suppressed before
 * it was sent: it ends `canceled`, unsent (at its claim, or when an admin suppresses).
 */
export const SUPPRESSED_ERROR_CODE = 'RECIPIENT_SUPPRESSED'
export const SUPPRESSED_ERROR = 'not sent: the number was put on the suppression list'

/** One entry of the suppression list, as enqueue reports it. */
export interface Suppression {
  /** E.164 */
  recipient: string
  reason: RecipientRefusal
  /** The provider's code that caused it; null when an admin added the number. */
  errorCode: string | null
  provider: string | null
  createdAt: Date
}

/**
 * A message went to a number on the suppression list: nothing was written. Only an admin
 * removing the number lets messages to it through again (HTTP 422 `RECIPIENT_SUPPRESSED`).
 * The message shows the number masked, as every answer does.
 */
export class RecipientSuppressed extends Error {
  override name = 'RecipientSuppressed'
  constructor(
    readonly suppression: Suppression,
    /** Where the number was in the request: `to`, or `messages/3/to` in a batch. */
    readonly field = 'to',
    /** The position of the message in a batch, when it came in one. */
    readonly index?: number,
  ) {
    super(`${field}: ${maskPhoneNumber(suppression.recipient)} is on the suppression list (${describe(suppression)}); an admin must remove it before it can be texted again`)
  }

  get reason(): RecipientRefusal {
    return this.suppression.reason
  }

  /** The same refusal, for the `index`-th message of a batch. */
  atIndex(index: number): RecipientSuppressed {
    return new RecipientSuppressed(this.suppression, this.field, index)
  }

  /** The same refusal, located inside a larger body (`messages/3/to`). */
  within(path: string): RecipientSuppressed {
    return new RecipientSuppressed(this.suppression, `${path}/${this.field}`, this.index)
  }
}

function describe({ reason, errorCode, provider, createdAt }: Suppression): string {
  const cause = errorCode === null ? 'added by an admin' : `${provider ?? 'the provider'} answered ${errorCode}`
  return `${reason.replace('_', ' ')}: ${cause}, ${createdAt.toISOString()}`
}
