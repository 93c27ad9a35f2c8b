import { Value } from 'typebox/value'
import { configSchema, ConfigError } from '../config.ts'

/** The service's settings that shape an enqueued message, named for code; each defaults as the service does. */
export interface OutboxOptions {
  /** Retries after the first attempt for a message that names none (`RETRY_MAX_RETRIES`, default 3). */
  maxRetries?: number
  /** An unsent message expires this long after it is due (`MESSAGE_TTL_SECONDS`, default 86400). */
  ttlSeconds?: number
  /** Longest text sent as an SMS, in EUC-KR bytes; longer is an LMS (`SMS_MAX_BYTES`, default 90). */
  smsMaxBytes?: number
  /** Base of result links (`FRONTEND_URL`, default http://localhost:3000). */
  frontendUrl?: string
  /** Text of the result-ready notification (`RESULT_READY_TEMPLATE`, default templates/result-ready.txt). */
  resultReadyTemplate?: string
}

export type OutboxSettings = Required<Omit<OutboxOptions, 'resultReadyTemplate'>> &
  Pick<OutboxOptions, 'resultReadyTemplate'>

// Each option is the environment setting of the same meaning: one schema, so that the
// library and the service accept the same values and default alike.
const SETTING_OF = {
  maxRetries: 'RETRY_MAX_RETRIES',
  ttlSeconds: 'MESSAGE_TTL_SECONDS',
  smsMaxBytes: 'SMS_MAX_BYTES',
  frontendUrl: 'FRONTEND_URL',
  resultReadyTemplate: 'RESULT_READY_TEMPLATE',
} as const satisfies Record<keyof OutboxOptions, keyof typeof configSchema.properties>

/** `options` checked against the service's configuration schema, with its defaults filled in. */
export function resolveOutboxSettings(options: OutboxOptions = {}): OutboxSettings {
  const settings: Record<string, unknown> = {}
  const problems: string[] = []
  for (const [option, setting] of Object.entries(SETTING_OF) as [keyof OutboxOptions, keyof typeof configSchema.properties][]) {
    const schema = configSchema.properties[setting]
    const value = options[option] ?? ('default' in schema ? schema.default : undefined)
    const [error] = value === undefined ? [] : Value.Errors(schema, value)
    if (error) problems.push(`${option} ${error.message} (got ${JSON.stringify(value)})`)
    settings[option] = value
  }
  if (problems.length > 0) throw new ConfigError(`invalid outbox options: ${problems.join('; ')}`)
  return settings as OutboxSettings
}
