import { readFile } from 'node:fs/promises'
import t from 'tap'
import { parse } from 'yaml'
import { enqueueAccess, loadConfig } from '../../src/config.ts'

interface ComposeService {
  environment: Record<string, string>
  ports?: string[]
}

// `merge: true` resolves the `<<: *service-env` the worker shares with the api.
const compose = parse(await readFile(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>
}

/**
 * What `docker compose` makes of an environment value with `shell` as the variables it
 * finds in the shell and in .env: `${NAME}`, `${NAME:-default}` and `${NAME:?message}`
 * (which stops compose with the message when NAME is unset or empty).
 */
function interpolate(value: string, shell: Record<string, string>): string {
  return String(value).replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_whole, name: string, operator?: string, argument = '') => {
    const set = shell[name] !== undefined && shell[name] !== ''
    if (set) return shell[name]
    if (operator === '?') throw new Error(`required variable ${name} is missing a value: ${argument}`)
    return operator === '-' ? argument : ''
  })
}

const environmentOf = (service: string, shell: Record<string, string>) =>
  Object.fromEntries(Object.entries(compose.services[service].environment).map(([name, value]) => [name, interpolate(value, shell)]))

t.test('compose publishes the API on 0.0.0.0, so it requires API_TOKEN and says how to set it', async (t) => {
  const api = compose.services.api
  t.equal(api.environment.HOST, '0.0.0.0')
  t.ok(api.ports?.some((port) => /(^|:)3000$/.test(port)), 'port 3000 is published')
  t.match(api.environment.API_TOKEN, /^\$\{API_TOKEN:\?[^}]*\.env[^}]*\}$/, 'compose stops without API_TOKEN and names .env')

  t.throws(() => environmentOf('api', {}), { message: /required variable API_TOKEN is missing a value: set API_TOKEN .*\.env/ })
  t.throws(() => environmentOf('api', { API_TOKEN: '' }), { message: /API_TOKEN/ }, 'an empty API_TOKEN in .env is no token')
})

t.test('with API_TOKEN in .env, both services pass the boot checks: the api guarded, the worker serving no enqueue', async (t) => {
  const shell = { API_TOKEN: 'a-caller-token-0123456789' }
  const api = loadConfig(environmentOf('api', shell))
  t.match(api, { HOST: '0.0.0.0', ROLE: 'api', API_TOKEN: shell.API_TOKEN, API_OPEN: false })
  t.equal(enqueueAccess(api), 'token')
  t.equal(api.METRICS_TOKEN, undefined, 'METRICS_TOKEN stays optional')
  t.equal(api.TRUST_PROXY, undefined, 'TRUST_PROXY stays optional')

  const worker = loadConfig(environmentOf('worker', shell))
  t.match(worker, { HOST: '0.0.0.0', ROLE: 'worker' })
  t.equal(enqueueAccess(worker), 'not-served')
  const scraped = loadConfig(environmentOf('api', { ...shell, METRICS_TOKEN: 'a-scrape-token-0123456789', TRUST_PROXY: '172.16.0.0/12' }))
  t.match(scraped, { METRICS_TOKEN: 'a-scrape-token-0123456789', TRUST_PROXY: '172.16.0.0/12' })
})
