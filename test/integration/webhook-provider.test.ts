import { createServer } from 'node:net'
import t from 'tap'
import { createWebhookProvider } from '../../src/providers/webhook-provider.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'

const sms = { id: '6c1f6f8e-4a39-4b8e-9a57-3f1c2b7d9e10', to: '+821012345678', text: 'hello', type: 'SMS' as const }
const timeout = (ms = 2_000) => AbortSignal.timeout(ms)

t.test('posts {id, to, text, type} with the id as Idempotency-Key; 2xx is ok', async (t) => {
  const fake = await startFakeWebhook(t)
  const provider = createWebhookProvider(fake.url)
  t.teardown(() => provider.close?.())
  fake.reply = () => ({ status: 204 })
  t.same(await provider.send(sms, timeout()), { kind: 'ok', httpStatus: 204 })
  t.match(fake.ledger, [{ ...sms, idempotencyKey: sms.id }])
})

t.test('maps each status to its outcome kind', async (t) => {
  const fake = await startFakeWebhook(t)
  const provider = createWebhookProvider(fake.url)
  t.teardown(() => provider.close?.())
  const cases = [
    [408, 'retryable'],
    [503, 'retryable'],
    [500, 'ambiguous'],
    [502, 'ambiguous'],
    [504, 'ambiguous'],
    [400, 'permanent'],
    [404, 'permanent'],
    [422, 'permanent'],
  ] as const
  for (const [status, kind] of cases) {
    fake.reply = () => ({ status, body: '{"error":"nope"}' })
    t.match(await provider.send(sms, timeout()), { kind, httpStatus: status, errorCode: `http_${status}`, errorMessage: /nope/ }, `${status}`)
  }
})

t.test("a number quoted in the receiver's answer is redacted from the error", async (t) => {
  const fake = await startFakeWebhook(t)
  const provider = createWebhookProvider(fake.url)
  t.teardown(() => provider.close?.())
  fake.reply = () => ({ status: 422, body: '{"error":"+821012345678 has opted out"}' })
  t.match(await provider.send(sms, timeout()), {
    kind: 'permanent',
    errorMessage: 'webhook answered 422: {"error":"<number> has opted out"}',
  })
})

t.test('429 is rate_limited and carries Retry-After in ms', async (t) => {
  const fake = await startFakeWebhook(t)
  const provider = createWebhookProvider(fake.url)
  t.teardown(() => provider.close?.())
  fake.reply = () => ({ status: 429, headers: { 'retry-after': '2.5' } })
  t.match(await provider.send(sms, timeout()), { kind: 'rate_limited', retryAfterMs: 2_500 })
})

t.test('a hung provider is aborted at the timeout and the outcome is ambiguous', async (t) => {
  const fake = await startFakeWebhook(t)
  const provider = createWebhookProvider(fake.url)
  t.teardown(() => provider.close?.())
  fake.reply = () => ({ hang: true })
  const started = performance.now()
  t.match(await provider.send(sms, timeout(300)), { kind: 'ambiguous', errorCode: 'timeout' })
  t.ok(performance.now() - started < 2_000, 'did not wait past the timeout')
  t.equal(fake.ledger.length, 1, 'the request did reach the provider')
})

t.test('a reset after the request was read is ambiguous', async (t) => {
  const fake = await startFakeWebhook(t)
  const provider = createWebhookProvider(fake.url)
  t.teardown(() => provider.close?.())
  fake.reply = () => ({ reset: true })
  t.match(await provider.send(sms, timeout()), { kind: 'ambiguous' })
  t.equal(fake.ledger.length, 1)
})

t.test('a refused connection is retryable: nothing was sent', async (t) => {
  const port = await new Promise<number>((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => done(port))
    })
  })
  const provider = createWebhookProvider(`http://127.0.0.1:${port}/sms`)
  t.teardown(() => provider.close?.())
  t.match(await provider.send(sms, timeout()), { kind: 'retryable', errorCode: 'ECONNREFUSED' })
})
