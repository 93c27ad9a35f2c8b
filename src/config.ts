import envSchema from 'env-schema'
import { BlockList, isIP } from 'node:net'
import { Type, type Static } from 'typebox'

const PositiveInteger = (defaultValue: number, description: string) =>
  Type.Integer({ minimum: 1, default: defaultValue, description })

// A hundred years: hours beyond it overflow PostgreSQL's intervals. (`Infinity` gets past
// the schema's maximum; checkConfig refuses it.)
const MAX_HOURS = 876_000

/**
 * Every setting, read from the environment and validated once at boot by loadConfig, for
 * the API, the worker, the CLI and the library alike. Names and defaults are a contract:
 * docs/configuration.md lists them.
 */
export const configSchema = Type.Object({
  DATABASE_URL: Type.Optional(
    Type.String({ minLength: 1, description: 'PostgreSQL connection string; unset = embedded' }),
  ),
  DATA_DIR: Type.String({ default: './.data', description: 'embedded PostgreSQL files' }),
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  ROLE: Type.Enum(['api', 'worker', 'all'], { default: 'all' }),
  SMS_PROVIDER: Type.Enum(['console', 'webhook', 'solapi', 'twilio'], { default: 'console' }),
  SMS_FROM: Type.Optional(Type.String({ minLength: 1, description: 'sender number registered with the provider' })),
  SMS_WEBHOOK_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  SMS_WEBHOOK_BATCH_SIZE: Type.Integer({
    minimum: 1,
    maximum: 10_000,
    default: 1,
    description: 'messages per webhook POST at most; above 1 the batch contract {messages} -> {results} is used',
  }),
  SOLAPI_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  SOLAPI_API_SECRET: Type.Optional(Type.String({ minLength: 1 })),
  SOLAPI_BASE_URL: Type.String({ pattern: '^https?://', default: 'https://api.solapi.com' }),
  SOLAPI_BATCH_SIZE: Type.Integer({
    minimum: 1,
    maximum: 10_000,
    default: 500,
    description: 'messages per send-many call at most (and per claim: DISPATCH_BATCH_SIZE); 1 = one send call per message',
  }),
  TWILIO_ACCOUNT_SID: Type.Optional(Type.String({ minLength: 1 })),
  TWILIO_AUTH_TOKEN: Type.Optional(Type.String({ minLength: 1 })),
  TWILIO_BASE_URL: Type.String({ pattern: '^https?://', default: 'https://api.twilio.com' }),
  SMS_MAX_BYTES: Type.Integer({
    minimum: 1,
    maximum: 2_000,
    default: 90,
    description: 'longest text sent as SMS, in EUC-KR bytes; longer is LMS',
  }),
  PROVIDER_TIMEOUT_MS: PositiveInteger(10_000, 'one provider call'),
  RETRY_MAX_RETRIES: Type.Integer({ minimum: 0, maximum: 20, default: 3 }),
  RETRY_BASE_DELAY_MS: PositiveInteger(1_000, 'backoff base'),
  RETRY_MAX_DELAY_MS: PositiveInteger(30_000, 'backoff cap'),
  RETRY_JITTER: Type.Enum(['none', 'full', 'equal'], { default: 'none' }),
  MESSAGE_TTL_SECONDS: PositiveInteger(86_400, 'unsent messages expire after this'),
  LEASE_MS: PositiveInteger(30_000, 'how long a claim holds a row'),
  DISPATCH_BATCH_SIZE: PositiveInteger(500, 'rows claimed per statement at most'),
  DISPATCH_CONCURRENCY: PositiveInteger(32, 'provider calls in flight per dispatcher'),
  POLL_INTERVAL_MS: PositiveInteger(1_000, 'fallback poll when no notification arrives'),
  DATABASE_POOL_SIZE: PositiveInteger(10, 'connections per process'),
  DATABASE_PREPARED_STATEMENTS: Type.Boolean({
    default: true,
    description: 'enqueue as a named prepared statement; false behind PgBouncer in transaction mode before 1.21',
  }),
  PAUSE_PROBE_INTERVAL_MS: PositiveInteger(60_000, 'while a provider is paused, one probe message per interval'),
  PROVIDER_RATE_LIMIT: Type.Optional(
    Type.Number({ exclusiveMinimum: 0, description: 'messages per second per provider, shared by every dispatcher' }),
  ),
  PROVIDER_RATE_BURST: Type.Optional(
    Type.Number({
      minimum: 2,
      description: 'messages a provider may see beyond the limit in any one second; unset = a tenth of a second of it, at least 2',
    }),
  ),
  RETRY_BUDGET_RATIO: Type.Number({
    minimum: 0,
    default: 0.2,
    description: 'retries allowed per first attempt, per provider per minute',
  }),
  RETRY_BUDGET_MIN_PER_MINUTE: Type.Integer({
    minimum: 1,
    default: 60,
    description: 'retries allowed per provider per minute on top of the ratio, so recovery never starves',
  }),
  ALERT_WEBHOOK_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  ALERT_WINDOW_MS: PositiveInteger(10_000, 'alerts within this window go out as one'),
  FRONTEND_URL: Type.String({ pattern: '^https?://', default: 'http://localhost:3000' }),
  PUBLIC_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^/?#]+(/[^?#]*)?$',
      description: 'base URL at which providers reach this service (delivery receipts); unset = no receipts pushed',
    }),
  ),
  RECEIPT_POLL_INTERVAL_MS: Type.Integer({
    minimum: 0,
    default: 60_000,
    description: 'how often a sent SOLAPI message is asked about until its receipt is final; 0 = never',
  }),
  RESULT_READY_TEMPLATE: Type.Optional(
    Type.String({ minLength: 1, description: 'template file; unset = templates/result-ready.txt' }),
  ),
  API_TOKEN: Type.Optional(
    Type.String({ minLength: 16, description: 'when set, the enqueue routes need Authorization: Bearer' }),
  ),
  API_OPEN: Type.Boolean({
    default: false,
    description: 'true accepts unauthenticated enqueue on a non-loopback HOST, on purpose; otherwise boot refuses without API_TOKEN',
  }),
  METRICS_TOKEN: Type.Optional(
    Type.String({ minLength: 16, description: 'when set, /metrics needs Authorization: Bearer; unset = open' }),
  ),
  TRUST_PROXY: Type.Optional(
    Type.String({
      minLength: 1,
      description: "Fastify's trustProxy: true, a hop count, or proxy addresses/CIDRs comma-separated; unset = trust none",
    }),
  ),
  ADMIN_TOKEN: Type.Optional(
    Type.String({ minLength: 16, description: 'the admin API and page; unset = generated at boot and printed' }),
  ),
  RETENTION_HOURS: Type.Number({
    exclusiveMinimum: 0,
    maximum: MAX_HOURS,
    default: 168,
    description: 'terminal messages whose last change is older than this lose every personal field (fractions allowed: 0.5 = 30 minutes)',
  }),
  PRUNE_AFTER_HOURS: Type.Number({
    minimum: 0,
    maximum: MAX_HOURS,
    default: 720,
    description: 'terminal messages whose last change is older than this are deleted with their attempts (fractions allowed; 0 = never)',
  }),
  HOUSEKEEPING_INTERVAL_MS: PositiveInteger(60_000, 'how often retention and pruning run (and once at boot)'),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    default: 'info',
  }),
})

export type Config = Static<typeof configSchema>

/** A setting that is well-formed on its own but wrong together with another. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Reads and validates the configuration; throws a message that names the bad setting. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  let config: Config
  // `SOLAPI_API_KEY=` (as docker compose writes `${SOLAPI_API_KEY:-}`) means "not set".
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''))
  try {
    // env: false, or env-schema would merge process.env back in, empty values and all.
    config = envSchema<Config>({ schema: configSchema, data: set, dotenv: false, env: false })
  } catch (error) {
    const details = (error as { errors?: EnvSchemaError[] }).errors
    if (!details) throw error
    throw new ConfigError(`invalid configuration: ${details.map((d) => describe(d, env)).join('; ')}`)
  }
  return checkConfig(config)
}

interface EnvSchemaError {
  instancePath: string
  message?: string
  params: { allowedValues?: unknown[] }
}

function describe(error: EnvSchemaError, env: Record<string, string | undefined>): string {
  const name = error.instancePath.replace(/^\//, '')
  const expected = error.params.allowedValues
    ? `must be one of ${error.params.allowedValues.join(', ')}`
    : error.message
  return `${name} ${expected} (got ${JSON.stringify(env[name])})`
}

const REQUIRED_BY_PROVIDER: Record<Config['SMS_PROVIDER'], (keyof Config)[]> = {
  console: [],
  webhook: ['SMS_WEBHOOK_URL'],
  solapi: ['SOLAPI_API_KEY', 'SOLAPI_API_SECRET', 'SMS_FROM'],
  twilio: ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'SMS_FROM'],
}

/** The rules that span settings; JSON schema cannot say them clearly. */
export function checkConfig(config: Config): Config {
  const problems: string[] = []
  // A lease shorter than a provider call would let a second dispatcher reclaim, and
  // send again, a message whose first call is still running.
  if (config.LEASE_MS <= config.PROVIDER_TIMEOUT_MS) {
    problems.push(
      `LEASE_MS (${config.LEASE_MS}) must exceed PROVIDER_TIMEOUT_MS (${config.PROVIDER_TIMEOUT_MS})`,
    )
  }
  if (config.RETRY_MAX_DELAY_MS < config.RETRY_BASE_DELAY_MS) {
    problems.push(
      `RETRY_MAX_DELAY_MS (${config.RETRY_MAX_DELAY_MS}) must be at least RETRY_BASE_DELAY_MS (${config.RETRY_BASE_DELAY_MS})`,
    )
  }
  for (const name of ['RETENTION_HOURS', 'PRUNE_AFTER_HOURS'] as const) {
    if (!Number.isFinite(config[name])) problems.push(`${name} must be a finite number of hours (got ${config[name]})`)
  }
  const missing = REQUIRED_BY_PROVIDER[config.SMS_PROVIDER].filter((name) => !config[name])
  if (missing.length > 0) problems.push(`SMS_PROVIDER=${config.SMS_PROVIDER} needs ${missing.join(', ')}`)
  const senderProblem = config.SMS_FROM === undefined ? undefined : checkSender(config.SMS_PROVIDER, config.SMS_FROM)
  if (senderProblem) problems.push(senderProblem)
  const trustProxy = parseTrustProxy(config.TRUST_PROXY)
  if ('problem' in trustProxy) problems.push(trustProxy.problem)
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`)
  return config
}

/**
 * A sender the provider cannot use fails every message at its first send (SOLAPI 1062,
 * Twilio 21212): caught at boot instead. SOLAPI matches its registered numbers as digits;
 * Twilio takes an E.164 number or a Messaging Service SID (MG + 32 hex digits).
 */
function checkSender(provider: Config['SMS_PROVIDER'], from: string): string | undefined {
  const got = `(got ${JSON.stringify(from)})`
  if (provider === 'solapi' && !/^\d+$/.test(from.replace(/-/g, ''))) {
    return `SMS_FROM must be the sender number registered with SOLAPI, digits and dashes such as 02-1234-5678 ${got}`
  }
  if (provider === 'twilio' && !/^(\+[1-9]\d{1,14}|MG[0-9a-fA-F]{32})$/.test(from)) {
    return `SMS_FROM must be an E.164 number (+15005550006) or a Messaging Service SID (MG...) for Twilio ${got}`
  }
  return undefined
}

/**
 * The token bucket every dispatcher claims under, or undefined for no rate limit. Its
 * size is half of PROVIDER_RATE_BURST, so claims in any one second take at most the limit
 * plus half the burst; the other half is room for the spread of latency between a claim
 * and the provider's receipt (50 ms of it at the default burst, a tenth of a second of
 * the limit), so that the provider sees at most the limit plus the burst.
 */
export function providerRateLimit(config: Config): { perSecond: number; bucketSize: number } | undefined {
  const perSecond = config.PROVIDER_RATE_LIMIT
  if (perSecond === undefined) return undefined
  const burst = config.PROVIDER_RATE_BURST ?? Math.max(2, Math.ceil(perSecond / 10))
  return { perSecond, bucketSize: burst / 2 }
}

/** Fastify's `trustProxy`: every proxy, the nearest hops (a function of the hop), or these addresses and subnets. */
export type TrustProxy = boolean | string[] | ((address: string, hop: number) => boolean)

// proxy-addr's names for the private ranges, which Fastify accepts beside addresses.
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/** TRUST_PROXY as Fastify takes it; false (trust no proxy) when unset. Throws ConfigError on a bad value. */
export function trustProxyOf(setting: string | undefined): TrustProxy {
  const parsed = parseTrustProxy(setting)
  if ('problem' in parsed) throw new ConfigError(`invalid configuration: ${parsed.problem}`)
  return parsed.value
}

function parseTrustProxy(setting: string | undefined): { value: TrustProxy } | { problem: string } {
  if (setting === undefined) return { value: false }
  const value = setting.trim()
  if (value === 'true' || value === 'false') return { value: value === 'true' }
  if (/^\d+$/.test(value)) {
    // Fastify 5.12 ignores a numeric trustProxy (it cannot tell a proxy from a client that
    // connects directly), so the hop count is given as the function proxy-addr calls per
    // hop: the socket's peer is hop 0. Right only where clients cannot bypass the proxies.
    const hops = Number(value)
    return { value: (_address: string, hop: number) => hop < hops }
  }
  const entries = value.split(',').map((entry) => entry.trim())
  const bad = entries.filter((entry) => !isProxyAddress(entry))
  if (bad.length === 0) return { value: entries }
  return {
    problem: `TRUST_PROXY must be true, a hop count, or addresses/CIDRs separated by commas (not ${bad.map((entry) => JSON.stringify(entry)).join(', ')})`,
  }
}

function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true
  const [address, prefix, ...rest] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)
}

/** Who may call the enqueue routes, as the settings make it. */
export type EnqueueAccess =
  /** API_TOKEN is set: callers send it as a bearer token. */
  | 'token'
  /** ROLE=worker: no enqueue routes are served. */
  | 'not-served'
  /** No token, but HOST is a loopback address: only this machine can reach them. */
  | 'open-on-loopback'
  /** No token on a network address, with API_OPEN=true. */
  | 'open-on-purpose'

const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6')

/** Whether HOST only accepts connections from this machine; a hostname other than localhost is not assumed to. */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true
  const family = isIP(host)
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6')
}

/**
 * Who can enqueue with these settings. Refuses (ConfigError) an API that anyone on the
 * network could use to text any number through the paid provider: a non-loopback HOST
 * without API_TOKEN, unless API_OPEN=true says that is intended.
 */
export function enqueueAccess(config: Config): EnqueueAccess {
  if (config.ROLE === 'worker') return 'not-served'
  if (config.API_TOKEN !== undefined) return 'token'
  if (isLoopbackHost(config.HOST)) return 'open-on-loopback'
  if (config.API_OPEN) return 'open-on-purpose'
  throw new ConfigError(
    `invalid configuration: HOST=${config.HOST} is not a loopback address and API_TOKEN is not set, so anyone who can ` +
      `reach port ${config.PORT} could send SMS through your provider. Set API_TOKEN (16 characters or more, e.g. ` +
      '`openssl rand -base64 24`) and have callers send "Authorization: Bearer <API_TOKEN>", or set API_OPEN=true ' +
      'to accept unauthenticated enqueue on purpose',
  )
}
