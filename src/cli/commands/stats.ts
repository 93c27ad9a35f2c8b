import { outboxStats, type OutboxStats } from '../../admin/outbox-stats.ts'
import { withAdminDatabase } from '../admin-database.ts'
import { parseCommandArgs, type Command } from '../command.ts'
import { loadServiceConfig } from '../service-config.ts'
import { shortTime, textTable } from '../text-table.ts'

export const statsCommand: Command = {
  usage: `Usage: sms-outbox stats [--json]

Messages by status; those that died in the last 24 hours by error code; and per hour of
the last 24 hours (UTC), how many were accepted, sent and died. Counts cover the
messages still stored: terminal ones are deleted PRUNE_AFTER_HOURS after their last change.

  --json            the same as one JSON object`,
  async run(args) {
    const { values } = parseCommandArgs(args, { json: { type: 'boolean', default: false } })
    const config = await loadServiceConfig()
    const stats = await withAdminDatabase(config, (prisma) => outboxStats(prisma, { pruneAfterHours: config.PRUNE_AFTER_HOURS }))
    console.log(values.json ? JSON.stringify(stats) : statsReport(stats))
    return 0
  },
}

function statsReport(stats: OutboxStats): string {
  const statuses = Object.entries(stats.byStatus)
  const sections = [
    stats.prunedBefore === null
      ? 'Nothing is pruned (PRUNE_AFTER_HOURS=0)'
      : `Counting messages still stored: terminal ones last changed before ${shortTime(stats.prunedBefore)} were pruned`,
    '',
    'By status',
    statuses.length === 0 ? '  no messages' : indent(textTable(['STATUS', 'COUNT'], statuses.map(([status, n]) => [status, String(n)]))),
    '',
    'Dead in the last 24 hours, by error code',
    stats.deadByErrorCode.length === 0
      ? '  none'
      : indent(textTable(['ERROR CODE', 'COUNT'], stats.deadByErrorCode.map((row) => [row.errorCode, String(row.count)]))),
    '',
    'Per hour, last 24 hours',
    indent(
      textTable(
        ['HOUR', 'ACCEPTED', 'SENT', 'DEAD'],
        stats.perHour.map((row) => [shortTime(row.hour).slice(0, 16) + 'Z', String(row.created), String(row.sent), String(row.dead)]),
      ),
    ),
  ]
  return sections.join('\n')
}

function indent(text: string): string {
  return text.replace(/^/gm, '  ')
}
