import { listMessages, type MessageSummary } from '../../admin/list-messages.ts'
import { summaryView } from '../../admin/message-views.ts'
import { maskPhoneNumber } from '../../sms/phone-number.ts'
import { withAdminDatabase } from '../admin-database.ts'
import { UsageError, parseCommandArgs, type Command } from '../command.ts'
import { FILTER_OPTIONS, FILTER_USAGE, filterFromFlags } from '../filter-options.ts'
import { loadServiceConfig } from '../service-config.ts'
import { oneLine, shortTime, textTable } from '../text-table.ts'

const MAX_LIMIT = 1_000

export const listCommand: Command = {
  usage: `Usage: sms-outbox list [options]

Messages, newest first. Phone numbers are always masked.

${FILTER_USAGE}
  --limit N         at most N messages (default 50, up to ${MAX_LIMIT})
  --json            one JSON object per line instead of a table`,
  async run(args) {
    const { values } = parseCommandArgs(args, {
      ...FILTER_OPTIONS,
      limit: { type: 'string', default: '50' },
      json: { type: 'boolean', default: false },
    })
    const limit = Number(values.limit)
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new UsageError(`--limit must be a whole number from 1 to ${MAX_LIMIT} (got "${values.limit}")`)
    }
    const filter = filterFromFlags(values)
    const config = await loadServiceConfig()
    const page = await withAdminDatabase(config, (prisma) => listMessages(prisma, filter, { limit }))

    if (values.json) {
      for (const message of page.messages) console.log(JSON.stringify(summaryView(message)))
    } else if (page.messages.length === 0) {
      console.log('no messages match')
    } else {
      console.log(messageTable(page.messages))
    }
    // On stderr, so that a script reading --json lines only ever sees messages.
    if (page.nextCursor) console.error(`(more than ${limit}; narrow the filter or raise --limit)`)
    return 0
  },
}

function messageTable(messages: MessageSummary[]): string {
  return textTable(
    ['ID', 'CREATED', 'STATUS', 'TO', 'ATTEMPTS', 'ERROR CODE', 'LAST ERROR'],
    messages.map((message) => [
      message.id,
      shortTime(message.createdAt),
      message.status,
      message.to === null ? '(erased)' : maskPhoneNumber(message.to),
      String(message.attempts),
      message.lastErrorCode ?? '-',
      message.lastError === null ? '-' : oneLine(message.lastError, 60),
    ]),
  )
}
