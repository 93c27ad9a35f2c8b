import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.ts'

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
    LOG_LEVEL: 'info',
  })
  t.equal(config.DATABASE_URL, undefined)
})

t.test('numbers come from strings', async (t) => {
  t.equal(loadConfig({ PORT: '8080', RETRY_MAX_RETRIES: '0' }).PORT, 8080)
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
