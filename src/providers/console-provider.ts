import type { Logger } from 'pino'
import { maskPhoneNumber } from '../sms/phone-number.ts'
import type { OutgoingSms, SendOutcome, SmsProvider } from './provider.ts'

/** Development provider: logs the message instead of sending it, and always succeeds. */
export function createConsoleProvider(log: Logger): SmsProvider {
  return {
    name: 'console',
    async send(sms: OutgoingSms): Promise<SendOutcome> {
      log.info(
        { messageId: sms.id, to: maskPhoneNumber(sms.to), type: sms.type },
        `SMS to ${maskPhoneNumber(sms.to)}: ${sms.text}`,
      )
      return { kind: 'ok', providerMessageId: `console-${sms.id}` }
    },
  }
}
