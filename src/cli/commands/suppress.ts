import { addSuppression } from '../../admin/suppressions.ts'
import type { RecipientRefusal } from '../../domain/outcome.ts'
import { maskPhoneNumber } from '../../sms/phone-number.ts'
import { withAdminDatabase } from '../admin-database.ts'
import { cliActor } from '../cli-actor.ts'
import { UsageError, parseCommandArgs, type Command } from '../command.ts'
import { loadServiceConfig } from '../service-config.ts'
import { numberFromFlag } from './suppressions.ts'

const REASONS: RecipientRefusal[] = ['opted_out', 'invalid_number', 'not_mobile']

export const suppressCommand: Command = {
  usage: `Usage: sms-outbox suppress <number> [--reason R]

Puts a number on the suppression list by hand, so that no message to it is accepted (422)
until \`sms-outbox unsuppress <number>\`, and records who did it (cli:<your user name>).
Its pending and scheduled messages are canceled at once (RECIPIENT_SUPPRESSED); one being
sent at that moment cannot be called back. The number is E.164 (+821012345678) or Korean
(010-1234-5678). A number already on the list keeps its entry.

  --reason R        ${REASONS.join(', ')} (default opted_out)`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { reason: { type: 'string', default: 'opted_out' } }, { positionals: 1 })
    const [number] = positionals
    if (number === undefined) throw new UsageError('give the number to put on the suppression list')
    const recipient = numberFromFlag('<number>', number)
    const reason = values.reason as RecipientRefusal
    if (!REASONS.includes(reason)) throw new UsageError(`--reason must be one of ${REASONS.join(', ')} (got "${values.reason}")`)
    const config = await loadServiceConfig()
    const { entry, created, canceledPending } = await withAdminDatabase(config, (prisma) =>
      addSuppression(prisma, { recipient, reason }, { actor: cliActor() }),
    )
    const masked = maskPhoneNumber(recipient)
    const listed = created ? `suppressed ${masked} (${entry.reason})` : `${masked} was already suppressed (${entry.reason} since ${entry.createdAt.toISOString()})`
    console.log(`${listed}; ${canceledPending} pending ${canceledPending === 1 ? 'message' : 'messages'} canceled`)
    return 0
  },
}
