import { RETRYABLE_STATUSES, retryMatching, retryMessage } from '../../admin/retry-messages.ts'
import { withAdminDatabase } from '../admin-database.ts'
import { cliActor } from '../cli-actor.ts'
import { UsageError, parseCommandArgs, type Command } from '../command.ts'
import { FILTER_OPTIONS, FILTER_USAGE, filterFromFlags, hasFilterFlags } from '../filter-options.ts'
import { loadServiceConfig } from '../service-config.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const retryCommand: Command = {
  usage: `Usage: sms-outbox retry <id>
       sms-outbox retry --status dead [filter options] [--dry-run]

Moves dead or expired messages back to pending, due now, with a fresh retry budget, and
records who did it (cli:<your user name>) in admin_actions. Retrying a message that is
already pending again changes nothing. Exit code 1 when the message does not exist or
cannot be retried (sent, canceled, or erased by the retention job).

${FILTER_USAGE.replace(/^ {2}--status S .*$/m, '  --status S        required without an id: dead, expired or dead,expired')}
  --dry-run         only count the messages the filter would retry`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(
      args,
      { ...FILTER_OPTIONS, 'dry-run': { type: 'boolean', default: false } },
      { positionals: 1 },
    )
    const [id] = positionals
    if (id !== undefined) {
      if (hasFilterFlags(values) || values['dry-run']) throw new UsageError('give a message id or filter options, not both')
      if (!UUID.test(id)) throw new UsageError(`"${id}" is not a message id (a UUID)`)
      return retryOne(id)
    }
    // A bare `retry` must not mean "everything that ever died": the status is spelled out.
    if (values.status === undefined) throw new UsageError('give a message id, or --status dead (or expired) to retry by filter')
    const filter = filterFromFlags(values)
    const unretryable = filter.status!.filter((status) => !RETRYABLE_STATUSES.includes(status))
    if (unretryable.length > 0) {
      throw new UsageError(`--status: only ${RETRYABLE_STATUSES.join(' and ')} messages can be retried (got ${unretryable.join(', ')})`)
    }
    const config = await loadServiceConfig()
    const options = { actor: cliActor(), ttlSeconds: config.MESSAGE_TTL_SECONDS, dryRun: values['dry-run'] }
    const { matched } = await withAdminDatabase(config, (prisma) => retryMatching(prisma, filter, options))
    if (options.dryRun) console.log(`dry run: would retry ${count(matched)}; nothing changed`)
    else console.log(`retried ${count(matched)}`)
    return 0
  },
}

async function retryOne(id: string): Promise<number> {
  const config = await loadServiceConfig()
  const outcome = await withAdminDatabase(config, (prisma) =>
    retryMessage(prisma, id, { actor: cliActor(), ttlSeconds: config.MESSAGE_TTL_SECONDS }),
  )
  switch (outcome.result) {
    case 'retried':
      console.log(`retried ${id}: pending again, due now`)
      return 0
    case 'unchanged':
      console.log(`unchanged: ${id} is ${outcome.message.status} already`)
      return 0
    case 'not_retryable':
      console.error(`not retryable: ${id}: ${outcome.reason}`)
      return 1
    case 'not_found':
      console.error(`not found: no message ${id}`)
      return 1
  }
}

function count(messages: number): string {
  return `${messages} message${messages === 1 ? '' : 's'}`
}
