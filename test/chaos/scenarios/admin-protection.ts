import { Agent, request } from 'undici'
import { ADMIN_TOKEN, type Scenario, type ScenarioContext } from '../scenario.ts'

const API_TOKEN = 'chaos-api-token-0123456789abcdef'

/** What an admin route must never let through: a token that is absent, wrong, the API's, or in the URL. */
const IMPOSTORS: { name: string; headers: Record<string, string>; query?: string }[] = [
  { name: 'no token', headers: {} },
  { name: 'wrong token', headers: { authorization: 'Bearer not-the-admin-token-at-all-0000' } },
  { name: 'the API token', headers: { authorization: `Bearer ${API_TOKEN}` } },
  { name: 'admin token in the query string', headers: {}, query: `token=${ADMIN_TOKEN}` },
  { name: 'admin token in the query string, API token in the header', headers: { authorization: `Bearer ${API_TOKEN}` }, query: `access_token=${ADMIN_TOKEN}` },
  { name: 'admin token as Basic auth', headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` } },
  { name: 'forged session cookie', headers: { cookie: 'sms_outbox_admin=forged' } },
  { name: 'admin token as the session cookie', headers: { cookie: `sms_outbox_admin=${ADMIN_TOKEN}` } },
]

/** Everything an admin action could change. */
async function adminState(ctx: ScenarioContext): Promise<string> {
  const [messages, actions, pauses] = await Promise.all([
    ctx.pool.query(`SELECT id, status, attempts, counted_attempts, updated_at, expires_at FROM sms_outbox.messages ORDER BY id`),
    ctx.pool.query(`SELECT count(*)::int AS n FROM sms_outbox.admin_actions`),
    ctx.pool.query(`SELECT provider, next_probe_at FROM sms_outbox.provider_pauses ORDER BY provider`),
  ])
  return JSON.stringify([messages.rows, actions.rows, pauses.rows])
}

/**
 * 24. Every admin route (read from the API's own OpenAPI document, plus the page's) with
 * each impostor credential: 401 or 403 only, and nothing changed. Then the right token:
 * an admin retry of a dead message twice, where the second is a no-op.
 */
export const adminProtection: Scenario = {
  id: 24,
  name: 'admin protection',
  quick: true,
  timeoutMs: 60_000,
  async run(ctx) {
    const api = await ctx.driver.start('api', ctx.serviceEnv({ ROLE: 'api', API_TOKEN }))
    const agent = new Agent({ connections: 8 })
    ctx.onCleanup(() => agent.close())
    // One dead message and one paused provider, so that retry, cancel and resume have targets.
    const { rows: [dead] } = await ctx.pool.query<{ id: string }>(`
      INSERT INTO sms_outbox.messages (recipient, body, type, bytes, max_retries, attempts, counted_attempts, status, expires_at, last_error_code)
      VALUES ('+821012345678', 'admin', 'SMS', 5, 0, 1, 1, 'dead', now() + interval '1 day', 'http_400') RETURNING id`)
    await ctx.pool.query(`INSERT INTO sms_outbox.provider_pauses (provider, error_code, reason, next_probe_at) VALUES ('webhook', '1062', 'test', now() + interval '1 hour')`)

    const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
      const response = await request(`${api.url}${path}`, {
        method: method as 'GET',
        dispatcher: agent,
        headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      return { status: response.statusCode, text: await response.body.text() }
    }
    const docs = JSON.parse((await call('GET', '/docs/json', {})).text) as { paths: Record<string, Record<string, unknown>> }
    const routes: { method: string; path: string; body?: unknown }[] = []
    for (const [path, operations] of Object.entries(docs.paths)) {
      if (!path.startsWith('/v1/admin')) continue
      for (const method of Object.keys(operations)) {
        const concrete = path.replace('{id}', dead.id).replace('{provider}', 'webhook')
        routes.push({ method: method.toUpperCase(), path: concrete, body: method === 'post' && concrete.endsWith('/messages/retry') ? { status: ['dead', 'expired'] } : undefined })
      }
    }
    // The page: its HTML and the JSON it calls are what an attacker would reach for.
    routes.push({ method: 'GET', path: '/admin' })

    const before = await adminState(ctx)
    const answers: Record<string, number> = {}
    const letThrough: unknown[] = []
    for (const route of routes) {
      for (const impostor of IMPOSTORS) {
        const path = impostor.query ? `${route.path}${route.path.includes('?') ? '&' : '?'}${impostor.query}` : route.path
        const { status } = await call(route.method, path, impostor.headers, route.body)
        answers[status] = (answers[status] ?? 0) + 1
        if (status !== 401 && status !== 403) letThrough.push({ route: `${route.method} ${path}`, impostor: impostor.name, status })
      }
    }
    const after = await adminState(ctx)
    ctx.expect('impostors get 401/403 only', letThrough.length === 0, letThrough.slice(0, 5))
    ctx.expect('impostors changed nothing', before === after)

    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
    const first = await call('POST', `/v1/admin/messages/${dead.id}/retry`, admin)
    const stateAfterFirst = await adminState(ctx)
    const second = await call('POST', `/v1/admin/messages/${dead.id}/retry`, admin)
    const stateAfterSecond = await adminState(ctx)
    const firstResult = (JSON.parse(first.text) as { result?: string }).result
    const secondResult = (JSON.parse(second.text) as { result?: string }).result
    ctx.expect('admin retry: the first retries', first.status === 200 && firstResult === 'retried', first)
    ctx.expect('admin retry twice: the second is a no-op', second.status === 200 && secondResult === 'unchanged' && stateAfterFirst === stateAfterSecond, second)
    return { admin_routes: routes.length, impostors: IMPOSTORS.length, requests: routes.length * IMPOSTORS.length, answers, retry_results: [firstResult, secondResult] }
  },
}
