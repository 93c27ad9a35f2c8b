import type { MessageFilter } from '../admin/message-filter.ts'
import type { MessageStatus } from '../outbox/message.ts'
import { InvalidPhoneNumber, normalizePhoneNumber } from '../sms/phone-number.ts'
import { UsageError } from './command.ts'

const STATUSES: MessageStatus[] = ['pending', 'sending', 'sent', 'dead', 'expired', 'canceled']

/** The flags that choose messages, shared by `list` and `retry`. */
export const FILTER_OPTIONS = {
  status: { type: 'string' },
  to: { type: 'string' },
  'error-code': { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
} as const

export const FILTER_USAGE = `  --status S        one status or several, comma-separated: ${STATUSES.join(', ')}
  --to N            recipient, E.164 (+821012345678) or Korean (010-1234-5678)
  --error-code C    last error code, e.g. 1030 or http_503
  --since T         accepted at or after T: 2026-11-29 (UTC) or 2026-11-29T09:00:00+09:00
  --until T         accepted before T, same forms`

export interface FilterFlags {
  status?: string
  to?: string
  'error-code'?: string
  since?: string
  until?: string
}

/** The flags as a MessageFilter, the number normalised as enqueue stores it. */
export function filterFromFlags(flags: FilterFlags): MessageFilter {
  return {
    status: flags.status === undefined ? undefined : parseStatuses(flags.status),
    to: flags.to === undefined ? undefined : parseRecipient(flags.to),
    errorCode: flags['error-code'],
    since: flags.since === undefined ? undefined : parseInstant('--since', flags.since),
    until: flags.until === undefined ? undefined : parseInstant('--until', flags.until),
  }
}

export function hasFilterFlags(flags: FilterFlags): boolean {
  return Object.keys(FILTER_OPTIONS).some((name) => flags[name as keyof FilterFlags] !== undefined)
}

function parseStatuses(value: string): MessageStatus[] {
  const statuses = value.split(',').map((status) => status.trim())
  const unknown = statuses.filter((status) => !STATUSES.includes(status as MessageStatus))
  if (unknown.length > 0) {
    throw new UsageError(`--status: unknown status "${unknown[0]}" (one of ${STATUSES.join(', ')})`)
  }
  return statuses as MessageStatus[]
}

function parseRecipient(value: string): string {
  try {
    return normalizePhoneNumber(value)
  } catch (error) {
    if (error instanceof InvalidPhoneNumber) throw new UsageError(`--to: ${error.message}`)
    throw error
  }
}

// A date alone is midnight UTC; a time needs its zone. JavaScript would read a time
// without one in the local zone, and the same command would mean another hour elsewhere.
const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/

function parseInstant(flag: string, value: string): Date {
  const date = new Date(value)
  if (!INSTANT.test(value) || Number.isNaN(date.getTime())) {
    throw new UsageError(`${flag}: "${value}" is not a date (2026-11-29) or a time with a zone (2026-11-29T09:00:00+09:00)`)
  }
  return date
}
