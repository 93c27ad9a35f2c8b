import { Agent, request } from 'undici'
import { type Scenario } from '../scenario.ts'

interface Answer {
  status: number
  id: string | undefined
  body: 'A' | 'B'
}

/**
 * 6. The idempotency race: 50 POSTs with one key sent at once, spread over two API
 * processes. One row, and every 2xx carries its id; the same key with a different body
 * gets 409 and writes nothing. A mixed race (half one body, half another) leaves one row
 * and lets only the winner's body through.
 */
export const idempotencyRace: Scenario = {
  id: 6,
  name: 'idempotency race',
  quick: true,
  timeoutMs: 60_000,
  async run(ctx) {
    const rounds = ctx.quick ? 3 : 10
    const apis = await Promise.all([1, 2].map((n) => ctx.driver.start(`api-${n}`, ctx.serviceEnv({ ROLE: 'api' }))))
    const agent = new Agent({ connections: 64 })
    ctx.onCleanup(() => agent.close())
    const bodies = { A: { to: '010-1234-5678', text: 'race A' }, B: { to: '010-1234-5678', text: 'race B' } }
    const post = async (key: string, body: 'A' | 'B', i: number): Promise<Answer> => {
      const response = await request(`${apis[i % 2].url}/v1/messages`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(bodies[body]),
      })
      const json = (await response.body.json()) as { id?: string }
      return { status: response.statusCode, id: json.id, body }
    }
    const rowsOf = async (key: string) =>
      (await ctx.pool.query<{ id: string; body: string }>(`SELECT id, body FROM sms_outbox.messages WHERE idempotency_key = encode(sha256(convert_to($1, 'UTF8')), 'hex')`, [key])).rows
    const statuses: Record<number, number> = {}
    const count = (answers: Answer[]) => answers.forEach((a) => (statuses[a.status] = (statuses[a.status] ?? 0) + 1))

    for (let round = 0; round < rounds; round += 1) {
      const key = `race-${round}`
      const same = await Promise.all(Array.from({ length: 50 }, (_, i) => post(key, 'A', i)))
      count(same)
      const ok = same.filter((a) => a.status === 200 || a.status === 202)
      const rows = await rowsOf(key)
      ctx.expect('one row per key', rows.length === 1, { key, rows: rows.length })
      ctx.expect('one id in every 2xx', new Set(ok.map((a) => a.id)).size === 1 && ok[0]?.id === rows[0]?.id, { key })
      ctx.expect('exactly one 202', same.filter((a) => a.status === 202).length === 1, { key })
      ctx.expect('every answer a 2xx', ok.length === 50, { key, statuses: same.map((a) => a.status) })

      const different = await Promise.all(Array.from({ length: 10 }, (_, i) => post(key, 'B', i)))
      count(different)
      ctx.expect('same key, different body: 409', different.every((a) => a.status === 409), { key, statuses: different.map((a) => a.status) })
      ctx.expect('a 409 writes nothing', (await rowsOf(key)).length === 1, { key })

      const mixedKey = `race-mixed-${round}`
      const mixed = await Promise.all(Array.from({ length: 50 }, (_, i) => post(mixedKey, i % 2 === 0 ? 'A' : 'B', i)))
      count(mixed)
      const mixedRows = await rowsOf(mixedKey)
      const winners = new Set(mixed.filter((a) => a.status < 300).map((a) => a.body))
      ctx.expect('mixed race: one row', mixedRows.length === 1, { key: mixedKey, rows: mixedRows.length })
      ctx.expect('mixed race: only the stored body gets a 2xx, the other 409', winners.size === 1 &&
        mixedRows[0]?.body === bodies[[...winners][0]].text &&
        mixed.every((a) => (winners.has(a.body) ? a.status < 300 : a.status === 409)), { key: mixedKey })
    }
    const { rows } = await ctx.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM sms_outbox.messages`)
    ctx.expect('rows == keys', rows[0].n === rounds * 2, rows[0].n)
    return { rounds, parallel: 50, statuses, rows: rows[0].n }
  },
}
