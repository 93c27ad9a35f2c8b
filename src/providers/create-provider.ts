import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import { createConsoleProvider } from './console-provider.ts'
import type { SmsProvider } from './provider.ts'
import { createSolapiProvider } from './solapi-provider.ts'
import { createTwilioProvider } from './twilio-provider.ts'
import { twilioReceiptUrl } from './twilio-status-callback.ts'
import { createWebhookProvider } from './webhook-provider.ts'

/** The provider SMS_PROVIDER names, configured from the environment. */
export function createProvider(config: Config, log: Logger): SmsProvider {
  // checkConfig guarantees the settings each provider needs.
  switch (config.SMS_PROVIDER) {
    case 'console':
      return createConsoleProvider(log)
    case 'webhook':
      return createWebhookProvider(config.SMS_WEBHOOK_URL!, { batchLimit: config.SMS_WEBHOOK_BATCH_SIZE })
    case 'solapi':
      return createSolapiProvider({
        apiKey: config.SOLAPI_API_KEY!,
        apiSecret: config.SOLAPI_API_SECRET!,
        baseUrl: config.SOLAPI_BASE_URL,
        from: config.SMS_FROM!,
        batchLimit: config.SOLAPI_BATCH_SIZE,
        log,
      })
    case 'twilio':
      return createTwilioProvider({
        accountSid: config.TWILIO_ACCOUNT_SID!,
        authToken: config.TWILIO_AUTH_TOKEN!,
        baseUrl: config.TWILIO_BASE_URL,
        from: config.SMS_FROM!,
        statusCallback: twilioReceiptUrl(config.PUBLIC_URL),
      })
  }
}
