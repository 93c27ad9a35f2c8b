import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import { createConsoleProvider } from './console-provider.ts'
import type { SmsProvider } from './provider.ts'
import { createWebhookProvider } from './webhook-provider.ts'

/** The provider SMS_PROVIDER names, configured from the environment. */
export function createProvider(config: Config, log: Logger): SmsProvider {
  switch (config.SMS_PROVIDER) {
    case 'console':
      return createConsoleProvider(log)
    case 'webhook':
      // checkConfig guarantees the URL for this provider.
      return createWebhookProvider(config.SMS_WEBHOOK_URL!)
  }
}
