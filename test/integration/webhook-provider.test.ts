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

// The batch contract (SMS_WEBHOOK_BATCH_SIZE > 1): one POST {messages}, one result per id.
const batchOf = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    id: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
    to: `+8210000000${String(i + 1).padStart(2, '0')}`,
    text: `batch ${i + 1}`,
    type: 'SMS' as const,
  }))

t.test('batchLimit 1 (the default) keeps one call per message: no sendMany', async (t) => {
  const provider = createWebhookProvider('http://127.0.0.1:9/sms')
  t.teardown(() => provider.close?.())
  t.equal(provider.sendMany, undefined)
  const batching = createWebhookProvider('http://127.0.0.1:9/sms', { batchLimit: 500 })
  t.teardown(() => batching.close?.())
  t.equal(batching.batchLimit, 500)
})

t.test('a batch goes out as one POST {messages: [{id, to, text, type}]}; each result is matched by id', async (t) => {
  const fake = await startFakeWebhook(t)
  const provider = createWebhookProvider(fake.url, { batchLimit: 10 })
  t.teardown(() => provider.close?.())
  const batch = batchOf(6)
  const statusByTo: Record<string, number> = {
    [batch[0].to]: 200,
    [batch[1].to]: 429,
    [batch[2].to]: 503,
    [batch[3].to]: 400,
    [batch[4].to]: 500,
    [batch[5].to]: 202,
  }
  fake.reply = (receipt) => ({ status: statusByTo[receipt.to], body: `verdict for ${receipt.text}` })
  const outcomes = await provider.sendMany!(batch, timeout())
  t.equal(fake.requests, 1, 'one POST')
  t.same(fake.ledger.map(({ id, to, text, type }) => ({ id, to, text, type })), batch)
  t.match(outcomes, [
    { kind: 'ok', httpStatus: 200 },
    { kind: 'rate_limited', errorCode: 'http_429', errorMessage: /verdict for batch 2/ },
    { kind: 'retryable', errorCode: 'http_503', errorMessage: /verdict for batch 3/ },
    { kind: 'permanent', errorCode: 'http_400', errorMessage: /verdict for batch 4/ },
    { kind: 'ambiguous', errorCode: 'http_500' },
    { kind: 'ok', httpStatus: 202 },
  ])
})

t.test('results in another order than the request still land on their own messages', async (t) => {
  const fake = await startFakeWebhook(t)
  const provider = createWebhookProvider(fake.url, { batchLimit: 10 })
  t.teardown(() => provider.close?.())
  const batch = batchOf(3)
  fake.batchReply = (receipts) => ({
    status: 200,
    body: JSON.stringify({
      results: [
        { id: receipts[2].id, status: 400, error: 'third refused' },
        { id: receipts[0].id, status: 200 },
        { id: receipts[1].id, status: 503 },
      ],
    }),
  })
  t.match(await provider.sendMany!(batch, timeout()), [
    { kind: 'ok' },
    { kind: 'retryable', errorCode: 'http_503' },
    { kind: 'permanent', errorCode: 'http_400', errorMessage: /third refused/ },
  ])
})

t.test('a message the answer does not mention may have been sent: ambiguous', async (t) => {
  const fake = await startFakeWebhook(t)
  const provider = createWebhookProvider(fake.url, { batchLimit: 10 })
  t.teardown(() => provider.close?.())
  const batch = batchOf(3)
  fake.reply = (receipt) => (receipt.to === batch[1].to ? { hang: true } : { status: 200 })
  t.match(await provider.sendMany!(batch, timeout()), [
    { kind: 'ok' },
    { kind: 'ambiguous', errorCode: 'batch_unmentioned' },
    { kind: 'ok' },
  ])
  for (const body of ['<html>proxy</html>', '{"results": "none"}', '{"results": [{"id": 1, "status": "ok"}]}']) {
    fake.batchReply = () => ({ status: 200, body })
    t.match(await provider.sendMany!(batch, timeout()), batch.map(() => ({ kind: 'ambiguous' })), body)
  }
})

t.test('a whole-request failure applies to every message in it, by the single-call rules', async (t) => {
  const fake = await startFakeWebhook(t)
  const provider = createWebhookProvider(fake.url, { batchLimit: 10 })
  t.teardown(() => provider.close?.())
  const batch = batchOf(2)
  const cases = [
    [{ status: 503 }, { kind: 'retryable', errorCode: 'http_503' }],
    [{ status: 500 }, { kind: 'ambiguous', errorCode: 'http_500' }],
    [{ status: 401 }, { kind: 'permanent', errorCode: 'http_401' }],
    [{ status: 429, headers: { 'retry-after': '3' } }, { kind: 'rate_limited', retryAfterMs: 3_000 }],
    [{ reset: true }, { kind: 'ambiguous' }],
  ] as const
  for (const [reply, outcome] of cases) {
    fake.batchReply = () => reply
    t.match(await provider.sendMany!(batch, timeout()), [outcome, outcome], JSON.stringify(reply))
  }
  fake.batchReply = () => ({ hang: true })
  t.match(await provider.sendMany!(batch, timeout(300)), [
    { kind: 'ambiguous', errorCode: 'timeout' },
    { kind: 'ambiguous', errorCode: 'timeout' },
  ])
})
