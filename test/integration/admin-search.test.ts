// The admin search and list as an admin meets them: a key found as the client typed it,
// an order number that looks like a phone number, and a list preview that never shows a
// number whole, however the 40-character cut falls.
import t from 'tap'
import { buildTestApp } from '../helpers/test-app.ts'
import { silentLog } from '../helpers/outbox-fixture.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

const ADMIN_TOKEN = 'an-admin-token-for-search-tests'
const db = await createTestDatabase(t)
const app = await buildTestApp({ config: { DATABASE_URL: db.url, ADMIN_TOKEN }, database: db, logger: silentLog })
t.teardown(() => app.close())

const submit = async (body: object, idempotencyKey: string) => {
  const response = await app.inject({ method: 'POST', url: '/v1/messages', headers: { 'idempotency-key': idempotencyKey }, payload: body })
  if (response.statusCode !== 202) throw new Error(`enqueue: ${response.statusCode} ${response.body}`)
  return response.json().id as string
}
const search = async (q: string) => {
  const response = await app.inject({
    method: 'GET',
    url: `/v1/admin/messages?q=${encodeURIComponent(q)}`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  })
  t.equal(response.statusCode, 200, q)
  return (response.json().messages as { id: string; textPreview: string }[])
}

t.test('an idempotency key is found as the client typed it: an upper-case UUID, an order number', async (t) => {
  const upper = 'A3F1C2D4-5B6E-4F70-8192-A3B4C5D6E7F8'
  const byUuidKey = await submit({ to: '010-1111-2222', text: 'uuid key' }, upper)
  t.same((await search(upper)).map((m) => m.id), [byUuidKey])

  const orderNumber = '2026120612345'
  const byOrder = await submit({ to: '010-3333-4444', text: 'order key' }, orderNumber)
  t.same((await search(orderNumber)).map((m) => m.id), [byOrder], 'a key that looks like a phone number is still a key')
  t.same((await search('010-3333-4444')).map((m) => m.id), [byOrder], 'and a number finds messages to it')
})

t.test('the list preview redacts a number that the cut would split', async (t) => {
  // The number starts at character 33: a cut at 40 would leave "010-123", too short to redact.
  const text = 'Your order is ready. Call us at 010-1234-5678 for pickup.'
  const id = await submit({ to: '010-5555-6666', text }, 'preview-1')
  const [line] = (await search('preview-1')).filter((m) => m.id === id)
  t.equal(line.textPreview.length, 40)
  t.notMatch(line.textPreview, /010-1?2/, 'no part of the number is shown')
  t.match(line.textPreview, /^Your order is ready\. Call us at /)
})
