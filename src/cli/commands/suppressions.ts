import { listedNumber, listSuppressions, type SuppressionEntry } from '../../admin/suppressions.ts'
import { suppressionView } from '../../admin/message-views.ts'
import { InvalidPhoneNumber, maskPhoneNumber } from '../../sms/phone-number.ts'
import { withAdminDatabase } from '../admin-database.ts'
import { UsageError, parseCommandArgs, type Command } from '../command.ts'
import { loadServiceConfig } from '../service-config.ts'
import { shortTime, textTable } from '../text-table.ts'

const MAX_LIMIT = 1_000

export const suppressionsCommand: Command = {
  usage: `Usage: sms-outbox suppressions [options]

The suppression list, newest first: numbers no message is accepted for (422) until an
admin removes them with \`sms-outbox unsuppress <number>\`. Numbers are always masked.

  --to N            only this number, E.164 (+821012345678) or Korean (010-1234-5678)
  --limit N         at most N entries (default 50, up to ${MAX_LIMIT})
  --json            one JSON object per line instead of a table`,
  async run(args) {
    const { values } = parseCommandArgs(args, {
      to: { type: 'string' },
      limit: { type: 'string', default: '50' },
      json: { type: 'boolean', default: false },
    })
    const limit = Number(values.limit)
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new UsageError(`--limit must be a whole number from 1 to ${MAX_LIMIT} (got "${values.limit}")`)
    }
    const recipient = values.to === undefined ? undefined : numberFromFlag('--to', values.to)
    const config = await loadServiceConfig()
    const page = await withAdminDatabase(config, (prisma) => listSuppressions(prisma, { recipient, limit }))

    if (values.json) {
      for (const entry of page.suppressions) console.log(JSON.stringify(suppressionView(entry)))
    } else if (page.suppressions.length === 0) {
      console.log(recipient === undefined ? 'the suppression list is empty' : 'that number is not on the suppression list')
    } else {
      console.log(suppressionTable(page.suppressions))
    }
    // On stderr, so that a script reading --json lines only ever sees entries.
    if (page.nextCursor) console.error(`(more than ${limit}; raise --limit)`)
    return 0
  },
}

/** A number from the command line as the list stores it; one that is no number is a usage error. */
export function numberFromFlag(flag: string, value: string): string {
  try {
    return listedNumber(value)
  } catch (error) {
    if (error instanceof InvalidPhoneNumber) throw new UsageError(`${flag}: ${error.message}`)
    throw error
  }
}

function suppressionTable(entries: SuppressionEntry[]): string {
  return textTable(
    ['SINCE', 'TO', 'REASON', 'ERROR CODE', 'PROVIDER', 'MESSAGE'],
    entries.map((entry) => [
      shortTime(entry.createdAt),
      maskPhoneNumber(entry.recipient),
      entry.reason,
      entry.errorCode ?? '-',
      entry.provider ?? '-',
      entry.messageId ?? '(added by an admin)',
    ]),
  )
}
