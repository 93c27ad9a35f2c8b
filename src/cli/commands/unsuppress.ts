import { removeSuppression } from '../../admin/suppressions.ts'
import { maskPhoneNumber } from '../../sms/phone-number.ts'
import { withAdminDatabase } from '../admin-database.ts'
import { cliActor } from '../cli-actor.ts'
import { UsageError, parseCommandArgs, type Command } from '../command.ts'
import { loadServiceConfig } from '../service-config.ts'
import { numberFromFlag } from './suppressions.ts'

export const unsuppressCommand: Command = {
  usage: `Usage: sms-outbox unsuppress <number>

Takes a number off the suppression list, so that messages to it are accepted again, and
records who did it (cli:<your user name>) in admin_actions. The number is E.164
(+821012345678) or Korean (010-1234-5678). Exit code 1 when it was not on the list.`,
  async run(args) {
    const { positionals } = parseCommandArgs(args, {}, { positionals: 1 })
    const [number] = positionals
    if (number === undefined) throw new UsageError('give the number to take off the suppression list')
    const recipient = numberFromFlag('<number>', number)
    const config = await loadServiceConfig()
    const removed = await withAdminDatabase(config, (prisma) => removeSuppression(prisma, { recipient }, { actor: cliActor() }))
    if (!removed) {
      console.error(`not suppressed: ${maskPhoneNumber(recipient)} is not on the suppression list`)
      return 1
    }
    console.log(`removed ${maskPhoneNumber(recipient)} (${removed.reason} since ${removed.createdAt.toISOString()}): messages to it are accepted again`)
    return 0
  },
}
