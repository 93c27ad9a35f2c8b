import t from 'tap'
import { ConfigError, enqueueAccess, isLoopbackHost, loadConfig, providerRateLimit, trustProxyOf } from '../../src/config.ts'

t.test('defaults match the documented contract', async (t) => {
  const config = loadConfig({})
  t.match(config, {
    DATA_DIR: './.data',
    HOST: '127.0.0.1',
    PORT: 3000,
    ROLE: 'all',
    SMS_PROVIDER: 'console',
    PROVIDER_TIMEOUT_MS: 10_000,
    RETRY_MAX_RETRIES: 3,
    RETRY_BASE_DELAY_MS: 1_000,
    RETRY_MAX_DELAY_MS: 30_000,
    RETRY_JITTER: 'none',
    MESSAGE_TTL_SECONDS: 86_400,
    LEASE_MS: 30_000,
    RETRY_BUDGET_RATIO: 0.2,
    RETRY_BUDGET_MIN_PER_MINUTE: 60,
    DISPATCH_BATCH_SIZE: 500,
    SOLAPI_BATCH_SIZE: 500,
    SMS_WEBHOOK_BATCH_SIZE: 1,
    DATABASE_PREPARED_STATEMENTS: true,
    LOG_LEVEL: 'info',
  })
  t.equal(config.DATABASE_URL, undefined)
  t.equal(providerRateLimit(config), undefined, 'no rate limit unless set')
})

t.test('the rate limit: per second, fractions allowed; the bucket holds half the burst, a tenth of a second of it unless set', async (t) => {
  t.same(providerRateLimit(loadConfig({ PROVIDER_RATE_LIMIT: '200' })), { perSecond: 200, bucketSize: 10 })
  t.same(providerRateLimit(loadConfig({ PROVIDER_RATE_LIMIT: '0.5' })), { perSecond: 0.5, bucketSize: 1 })
  t.same(providerRateLimit(loadConfig({ PROVIDER_RATE_LIMIT: '30', PROVIDER_RATE_BURST: '5' })), { perSecond: 30, bucketSize: 2.5 })
  t.throws(() => loadConfig({ PROVIDER_RATE_LIMIT: '0' }), { message: /PROVIDER_RATE_LIMIT must be > 0/ })
  t.throws(() => loadConfig({ PROVIDER_RATE_BURST: '1' }), { message: /PROVIDER_RATE_BURST must be >= 2/ })
  t.throws(() => loadConfig({ RETRY_BUDGET_MIN_PER_MINUTE: '0' }), { message: /RETRY_BUDGET_MIN_PER_MINUTE must be >= 1/ })
  t.throws(() => loadConfig({ RETRY_BUDGET_RATIO: '-1' }), { message: /RETRY_BUDGET_RATIO must be >= 0/ })
})

t.test('numbers and booleans come from strings', async (t) => {
  t.equal(loadConfig({ PORT: '8080', RETRY_MAX_RETRIES: '0' }).PORT, 8080)
  t.equal(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'false' }).DATABASE_PREPARED_STATEMENTS, false)
  t.throws(() => loadConfig({ DATABASE_PREPARED_STATEMENTS: 'maybe' }), { message: /DATABASE_PREPARED_STATEMENTS/ })
  t.throws(() => loadConfig({ SOLAPI_BATCH_SIZE: '10001' }), { message: /SOLAPI_BATCH_SIZE must be <= 10000/ })
  t.throws(() => loadConfig({ SMS_WEBHOOK_BATCH_SIZE: '0' }), { message: /SMS_WEBHOOK_BATCH_SIZE must be >= 1/ })
})

t.test('a bad value names the setting, what it must be, and what it got', async (t) => {
  t.throws(() => loadConfig({ PORT: 'eighty' }), { name: 'ConfigError', message: /PORT must be integer \(got "eighty"\)/ })
  t.throws(() => loadConfig({ ROLE: 'boss' }), { message: /ROLE must be one of api, worker, all \(got "boss"\)/ })
  t.throws(() => loadConfig({ RETRY_JITTER: 'some' }), { message: /RETRY_JITTER must be one of none, full, equal/ })
  t.throws(() => loadConfig({ RETRY_BASE_DELAY_MS: '0' }), { message: /RETRY_BASE_DELAY_MS must be >= 1/ })
})

t.test('boot refuses a lease no longer than a provider call', async (t) => {
  t.throws(() => loadConfig({ LEASE_MS: '10000' }), ConfigError)
  t.throws(() => loadConfig({ LEASE_MS: '5000', PROVIDER_TIMEOUT_MS: '5000' }), {
    message: /LEASE_MS \(5000\) must exceed PROVIDER_TIMEOUT_MS \(5000\)/,
  })
  t.equal(loadConfig({ LEASE_MS: '5001', PROVIDER_TIMEOUT_MS: '5000' }).LEASE_MS, 5001)
})

t.test('settings that only make sense together', async (t) => {
  t.throws(() => loadConfig({ SMS_PROVIDER: 'webhook' }), { message: /needs SMS_WEBHOOK_URL/ })
  t.throws(() => loadConfig({ RETRY_BASE_DELAY_MS: '5000', RETRY_MAX_DELAY_MS: '1000' }), {
    message: /RETRY_MAX_DELAY_MS \(1000\) must be at least RETRY_BASE_DELAY_MS/,
  })
  t.throws(() => loadConfig({ SMS_PROVIDER: 'webhook', SMS_WEBHOOK_URL: 'ftp://x' }), { message: /SMS_WEBHOOK_URL/ })
})

t.test('SMS_PROVIDER=solapi needs its key, secret and sender, each named', async (t) => {
  t.throws(() => loadConfig({ SMS_PROVIDER: 'solapi' }), {
    name: 'ConfigError',
    message: /SMS_PROVIDER=solapi needs SOLAPI_API_KEY, SOLAPI_API_SECRET, SMS_FROM/,
  })
  t.throws(() => loadConfig({ SMS_PROVIDER: 'solapi', SOLAPI_API_KEY: 'key' }), {
    message: /SMS_PROVIDER=solapi needs SOLAPI_API_SECRET, SMS_FROM$/,
  })
  t.throws(() => loadConfig({ SMS_PROVIDER: 'solapi', SOLAPI_API_KEY: 'key', SOLAPI_API_SECRET: 'secret' }), {
    message: /SMS_PROVIDER=solapi needs SMS_FROM$/,
  })
  // An empty value is not a setting.
  t.throws(
    () => loadConfig({ SMS_PROVIDER: 'solapi', SOLAPI_API_KEY: '', SOLAPI_API_SECRET: 'secret', SMS_FROM: '01012345678' }),
    { name: 'ConfigError', message: /SOLAPI_API_KEY/ },
  )
})

t.test('SMS_PROVIDER=twilio needs its account SID, auth token and sender, each named', async (t) => {
  t.throws(() => loadConfig({ SMS_PROVIDER: 'twilio' }), {
    name: 'ConfigError',
    message: /SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, SMS_FROM/,
  })
  t.throws(() => loadConfig({ SMS_PROVIDER: 'twilio', TWILIO_AUTH_TOKEN: 'token', SMS_FROM: '+821012345678' }), {
    message: /SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID$/,
  })
  // Another provider's credentials do not count.
  t.throws(
    () => loadConfig({ SMS_PROVIDER: 'twilio', SOLAPI_API_KEY: 'key', SOLAPI_API_SECRET: 'secret', SMS_FROM: '+821012345678' }),
    { message: /needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN$/ },
  )
})

t.test('complete provider settings pass, and the base URLs default to the real APIs', async (t) => {
  const solapi = loadConfig({
    SMS_PROVIDER: 'solapi',
    SOLAPI_API_KEY: 'key',
    SOLAPI_API_SECRET: 'secret',
    SMS_FROM: '01012345678',
  })
  t.match(solapi, {
    SMS_PROVIDER: 'solapi',
    SOLAPI_API_KEY: 'key',
    SOLAPI_API_SECRET: 'secret',
    SMS_FROM: '01012345678',
  })
  t.equal(solapi.SOLAPI_BASE_URL, 'https://api.solapi.com')
  t.equal(solapi.TWILIO_BASE_URL, 'https://api.twilio.com')

  const twilio = loadConfig({
    SMS_PROVIDER: 'twilio',
    TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000',
    TWILIO_AUTH_TOKEN: 'token',
    SMS_FROM: '+821012345678',
  })
  t.match(twilio, { SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000', SMS_FROM: '+821012345678' })
  t.equal(twilio.TWILIO_BASE_URL, 'https://api.twilio.com')
  t.equal(twilio.SOLAPI_BASE_URL, 'https://api.solapi.com')

  // A fake server for tests can take their place, but only over http(s).
  t.equal(
    loadConfig({
      SMS_PROVIDER: 'solapi',
      SOLAPI_API_KEY: 'key',
      SOLAPI_API_SECRET: 'secret',
      SMS_FROM: '01012345678',
      SOLAPI_BASE_URL: 'http://127.0.0.1:9999',
    }).SOLAPI_BASE_URL,
    'http://127.0.0.1:9999',
  )
  t.throws(() => loadConfig({ TWILIO_BASE_URL: 'api.twilio.com' }), {
    name: 'ConfigError',
    message: /TWILIO_BASE_URL must match pattern/,
  })
})

t.test('SMS_MAX_BYTES defaults to 90, reads a number, and refuses 0', async (t) => {
  t.equal(loadConfig({}).SMS_MAX_BYTES, 90)
  t.equal(loadConfig({ SMS_MAX_BYTES: '80' }).SMS_MAX_BYTES, 80)
  t.throws(() => loadConfig({ SMS_MAX_BYTES: '0' }), {
    name: 'ConfigError',
    message: /SMS_MAX_BYTES must be >= 1 \(got "0"\)/,
  })
  t.throws(() => loadConfig({ SMS_MAX_BYTES: '2001' }), { message: /SMS_MAX_BYTES must be <= 2000/ })
})

t.test('FRONTEND_URL must be http(s)', async (t) => {
  t.equal(loadConfig({}).FRONTEND_URL, 'http://localhost:3000')
  t.equal(loadConfig({ FRONTEND_URL: 'https://findmyrizz.example' }).FRONTEND_URL, 'https://findmyrizz.example')
  t.equal(loadConfig({ FRONTEND_URL: 'http://127.0.0.1:5173/' }).FRONTEND_URL, 'http://127.0.0.1:5173/')
  for (const bad of ['findmyrizz.example', 'ftp://findmyrizz.example', 'javascript:alert(1)']) {
    t.throws(() => loadConfig({ FRONTEND_URL: bad }), { name: 'ConfigError', message: /FRONTEND_URL/ }, bad)
  }
})

t.test('an empty value is unset, as docker compose passes `${NAME:-}`', async (t) => {
  const config = loadConfig({ SMS_WEBHOOK_URL: '', ALERT_WEBHOOK_URL: '', FRONTEND_URL: '', SOLAPI_API_KEY: '' })
  t.equal(config.SMS_WEBHOOK_URL, undefined)
  t.equal(config.ALERT_WEBHOOK_URL, undefined)
  t.equal(config.FRONTEND_URL, 'http://localhost:3000')
  t.throws(() => loadConfig({ SMS_PROVIDER: 'solapi', SOLAPI_API_KEY: '', SOLAPI_API_SECRET: 's', SMS_FROM: '0212345678' }), {
    message: /SMS_PROVIDER=solapi needs SOLAPI_API_KEY$/,
  })
})

t.test('housekeeping: RETENTION_HOURS and PRUNE_AFTER_HOURS take fractions, PRUNE_AFTER_HOURS=0 is never; one interval for both', async (t) => {
  t.match(loadConfig({}), { RETENTION_HOURS: 168, PRUNE_AFTER_HOURS: 720, HOUSEKEEPING_INTERVAL_MS: 60_000 })
  t.match(loadConfig({ RETENTION_HOURS: '0.5', PRUNE_AFTER_HOURS: '1.25' }), { RETENTION_HOURS: 0.5, PRUNE_AFTER_HOURS: 1.25 })
  t.equal(loadConfig({ PRUNE_AFTER_HOURS: '0' }).PRUNE_AFTER_HOURS, 0)
  // Pruning before retention is allowed: deleting a row erases all of it.
  t.match(loadConfig({ RETENTION_HOURS: '48', PRUNE_AFTER_HOURS: '24' }), { RETENTION_HOURS: 48, PRUNE_AFTER_HOURS: 24 })
  t.throws(() => loadConfig({ RETENTION_HOURS: '0' }), { name: 'ConfigError', message: /RETENTION_HOURS must be > 0 \(got "0"\)/ })
  t.throws(() => loadConfig({ PRUNE_AFTER_HOURS: '-1' }), { message: /PRUNE_AFTER_HOURS must be >= 0 \(got "-1"\)/ })
  t.throws(() => loadConfig({ PRUNE_AFTER_HOURS: '876001' }), { message: /PRUNE_AFTER_HOURS must be <= 876000/ })
  t.throws(() => loadConfig({ PRUNE_AFTER_HOURS: 'Infinity' }), { message: /PRUNE_AFTER_HOURS must be a finite number of hours \(got Infinity\)/ })
  t.throws(() => loadConfig({ RETENTION_HOURS: '1e400' }), { message: /RETENTION_HOURS must be a finite number/ })
  t.throws(() => loadConfig({ RETENTION_HOURS: 'NaN' }), { message: /RETENTION_HOURS must be number/ })
  t.equal(loadConfig({ HOUSEKEEPING_INTERVAL_MS: '500' }).HOUSEKEEPING_INTERVAL_MS, 500)
  t.throws(() => loadConfig({ HOUSEKEEPING_INTERVAL_MS: '0' }), { message: /HOUSEKEEPING_INTERVAL_MS must be >= 1/ })
  t.throws(() => loadConfig({ HOUSEKEEPING_INTERVAL_MS: '1.5' }), { message: /HOUSEKEEPING_INTERVAL_MS must be integer/ })
})

t.test('SMS_FROM is checked against the provider: SOLAPI digits (dashes allowed), Twilio E.164 or a Messaging Service SID', async (t) => {
  const solapi = { SMS_PROVIDER: 'solapi', SOLAPI_API_KEY: 'key', SOLAPI_API_SECRET: 'secret' }
  const twilio = { SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000', TWILIO_AUTH_TOKEN: 'token' }
  t.equal(loadConfig({ ...solapi, SMS_FROM: '02-1234-5678' }).SMS_FROM, '02-1234-5678')
  t.equal(loadConfig({ ...solapi, SMS_FROM: '15881234' }).SMS_FROM, '15881234')
  for (const bad of ['+8221234567', '02 1234 5678', 'MYSHOP', '---']) {
    t.throws(() => loadConfig({ ...solapi, SMS_FROM: bad }), {
      name: 'ConfigError',
      message: /SMS_FROM must be the sender number registered with SOLAPI, digits and dashes/,
    }, bad)
  }
  t.equal(loadConfig({ ...twilio, SMS_FROM: '+15005550006' }).SMS_FROM, '+15005550006')
  t.equal(loadConfig({ ...twilio, SMS_FROM: 'MG0123456789abcdef0123456789abcdef' }).SMS_FROM, 'MG0123456789abcdef0123456789abcdef')
  for (const bad of ['01012345678', '+0123456', '+1 500 555 0006', 'MG123', 'PN0123456789abcdef0123456789abcdef']) {
    t.throws(() => loadConfig({ ...twilio, SMS_FROM: bad }), {
      name: 'ConfigError',
      message: /SMS_FROM must be an E\.164 number \(\+15005550006\) or a Messaging Service SID \(MG\.\.\.\) for Twilio/,
    }, bad)
  }
})

t.test('PUBLIC_URL is an http(s) base URL without query or fragment; unset by default; receipts polled every minute', async (t) => {
  const config = loadConfig({})
  t.equal(config.PUBLIC_URL, undefined)
  t.equal(config.RECEIPT_POLL_INTERVAL_MS, 60_000)
  t.equal(loadConfig({ PUBLIC_URL: 'https://sms.example.com/outbox' }).PUBLIC_URL, 'https://sms.example.com/outbox')
  for (const bad of ['sms.example.com', 'ftp://sms.example.com', 'https://sms.example.com/?a=1', 'https://']) {
    t.throws(() => loadConfig({ PUBLIC_URL: bad }), { name: 'ConfigError', message: /PUBLIC_URL must match pattern/ }, bad)
  }
  t.equal(loadConfig({ RECEIPT_POLL_INTERVAL_MS: '0' }).RECEIPT_POLL_INTERVAL_MS, 0, '0 turns polling off')
})

t.test('enqueue without API_TOKEN: open on loopback, refused on a network address unless API_OPEN=true', async (t) => {
  t.equal(enqueueAccess(loadConfig({})), 'open-on-loopback', 'the default HOST is 127.0.0.1')
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) t.ok(isLoopbackHost(host), host)
  for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'fe80::1', 'api.example.com', '128.0.0.1']) {
    t.notOk(isLoopbackHost(host), host)
  }
  for (const host of ['0.0.0.0', '::', '10.0.0.5']) {
    t.throws(() => enqueueAccess(loadConfig({ HOST: host })), {
      name: 'ConfigError',
      message: new RegExp(`HOST=${host.replace(/\./g, '\\.')} is not a loopback address and API_TOKEN is not set.*Set API_TOKEN.*or set API_OPEN=true`),
    }, host)
  }
  t.equal(enqueueAccess(loadConfig({ HOST: '0.0.0.0', API_OPEN: 'true' })), 'open-on-purpose')
  t.equal(enqueueAccess(loadConfig({ HOST: '0.0.0.0', API_TOKEN: 'a-caller-token-0123456789' })), 'token')
  t.equal(enqueueAccess(loadConfig({ HOST: '0.0.0.0', ROLE: 'worker' })), 'not-served', 'a worker serves no enqueue API')
  t.equal(loadConfig({}).API_OPEN, false)
  t.equal(loadConfig({ API_OPEN: '' }).API_OPEN, false, 'empty is unset, as compose passes it')
  t.throws(() => loadConfig({ API_OPEN: 'yes please' }), { message: /API_OPEN/ })
})

t.test('METRICS_TOKEN: unset by default; a short one is refused', async (t) => {
  t.equal(loadConfig({}).METRICS_TOKEN, undefined)
  t.equal(loadConfig({ METRICS_TOKEN: 'a-scrape-token-0123456789' }).METRICS_TOKEN, 'a-scrape-token-0123456789')
  t.throws(() => loadConfig({ METRICS_TOKEN: 'short' }), { name: 'ConfigError', message: /METRICS_TOKEN must NOT have fewer than 16 characters/ })
})

t.test("TRUST_PROXY: true, a hop count, or addresses and CIDRs; anything else stops boot naming it", async (t) => {
  t.equal(trustProxyOf(loadConfig({}).TRUST_PROXY), false, 'unset: no proxy is trusted')
  t.equal(trustProxyOf(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY), true)
  const twoHops = trustProxyOf(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY)
  t.type(twoHops, 'function', 'a hop count becomes a function of the hop: Fastify ignores a number')
  if (typeof twoHops === 'function') t.same([0, 1, 2].map((hop) => twoHops('10.0.0.1', hop)), [true, true, false])
  t.same(trustProxyOf(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1, fd00::/8,loopback' }).TRUST_PROXY), [
    '10.0.0.0/8',
    '127.0.0.1',
    '::1',
    'fd00::/8',
    'loopback',
  ])
  for (const bad of ['yes', '10.0.0.0/33', '10.0.0', 'proxy.example.com', '1.2.3.4/8/9', '::1/129', '10.0.0.1,']) {
    t.throws(() => loadConfig({ TRUST_PROXY: bad }), { name: 'ConfigError', message: /TRUST_PROXY must be true, a hop count, or addresses\/CIDRs/ }, bad)
  }
  t.throws(() => trustProxyOf('nope'), { name: 'ConfigError', message: /TRUST_PROXY/ })
})

t.test('only the environment given is read: an empty or bad value in process.env does not leak in', async (t) => {
  const saved = { METRICS_TOKEN: process.env.METRICS_TOKEN, PORT: process.env.PORT }
  t.teardown(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  })
  // As docker compose sets `${METRICS_TOKEN:-}` when .env has none.
  process.env.METRICS_TOKEN = ''
  process.env.PORT = 'not-a-port'
  t.equal(loadConfig({ METRICS_TOKEN: '' }).METRICS_TOKEN, undefined)
  t.equal(loadConfig({}).PORT, 3000)
})
