import type { Locator, Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { buildTestApp } from '../helpers/test-app.ts'
import { openPage } from '../helpers/browser-page.ts'
import { enqueue, silentLog } from '../helpers/outbox-fixture.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

const TOKEN = 'a-test-admin-token-0123456789'
const SESSION_COOKIE = 'sms_outbox_admin'

const db = await createTestDatabase(t)
const app = await buildTestApp({ config: { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN }, database: db, logger: silentLog })
t.teardown(() => app.close())

// Fictional numbers. The list may show only their masked form; the detail panel, the full one.
const FAILED = { to: '010-1234-5678', e164: '+821012345678', hidden: '12345678' }
const CHANGED = { to: '010-2345-6789', e164: '+821023456789', hidden: '23456789' }
const WAITING = { to: '010-3456-7890', e164: '+821034567890', hidden: '34567890' }
// On the suppression list: one a provider refused, one an admin added.
const OPTED_OUT = { e164: '+821045678901', hidden: '45678901' }
const ADDED = { e164: '+821056789012', hidden: '56789012' }
const FILLERS = Array.from({ length: 50 }, (_, i) => ({ to: `010-5555-${String(i).padStart(4, '0')}`, hidden: `5555${String(i).padStart(4, '0')}` }))
const EVERY_NUMBER = [FAILED, CHANGED, WAITING, OPTED_OUT, ADDED, ...FILLERS]
const HOSTILE_TEXT = '<img src=x onerror="window.__xss = 1">'

// 52 dead rows: one page of 50 and a "Load more". The fillers are older, so FAILED and
// CHANGED are on the first page.
const fillerIds: string[] = []
for (const filler of FILLERS) fillerIds.push(await enqueue(db, { to: filler.to, text: 'filler' }))
const failedId = await enqueue(db, { to: FAILED.to, text: 'Your result is ready' })
const changedId = await enqueue(db, { to: CHANGED.to, text: HOSTILE_TEXT })
const waitingId = await enqueue(db, { to: WAITING.to, text: 'still waiting' })
await db.sql(
  `UPDATE sms_outbox.messages SET status = 'dead', attempts = 1, counted_attempts = 1, provider = 'solapi',
     last_error_code = '3059', last_error = 'unregistered sender', updated_at = now()
   WHERE id = ANY($1::uuid[])`,
  [[...fillerIds, changedId]],
)
await db.sql(
  `UPDATE sms_outbox.messages SET status = 'dead', attempts = 2, counted_attempts = 2, provider = 'solapi',
     last_error_code = '1030', last_error = 'the number does not exist', updated_at = now()
   WHERE id = $1`,
  [failedId],
)
await db.sql(
  `INSERT INTO sms_outbox.message_attempts (message_id, attempt, started_at, finished_at, outcome, error_code, error_message, http_status, latency_ms)
   VALUES ($1, 1, now() - interval '2 minutes', now() - interval '2 minutes', 'retryable', 'HTTP_503', 'service unavailable', 503, 412),
          ($1, 2, now() - interval '1 minute', now() - interval '1 minute', 'permanent', '1030', 'the number does not exist', 400, 87)`,
  [failedId],
)
await db.sql(
  `INSERT INTO sms_outbox.provider_pauses (provider, error_code, reason, next_probe_at, probes)
   VALUES ('solapi', '4030', 'balance exhausted', now() + interval '5 minutes', 2)`,
)

await db.sql(
  `INSERT INTO sms_outbox.suppressions (recipient, reason, error_code, provider, message_id, created_at)
   VALUES ($1, 'opted_out', '21610', 'twilio', $3, now() - interval '1 hour'),
          ($2, 'invalid_number', NULL, NULL, NULL, now())`,
  [OPTED_OUT.e164, ADDED.e164, changedId],
)

const form = (token: string) => ({
  payload: `token=${encodeURIComponent(token)}`,
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
})

t.test('over HTTP: the login, the cookie it sets, and the headers of the page', async (t) => {
  const anonymous = await app.inject({ method: 'GET', url: '/admin' })
  t.equal(anonymous.statusCode, 401)
  t.match(anonymous.headers['content-type'], /^text\/html/)
  t.match(anonymous.body, /<form method="post" action="\/admin\/login"/)
  t.match(anonymous.body, /<input type="password" id="token" name="token"/)
  t.match(anonymous.headers['content-security-policy'], /default-src 'self'/)
  t.notMatch(anonymous.headers['content-security-policy'], /unsafe-inline/)

  for (const name of ['token', 'admin_token', 'access_token']) {
    const viaUrl = await app.inject({ method: 'GET', url: `/admin?${name}=${TOKEN}` })
    t.equal(viaUrl.statusCode, 401, `?${name}= is not a way in`)
    t.equal(viaUrl.headers['set-cookie'], undefined)
  }
  const loginViaUrl = await app.inject({ method: 'POST', url: `/admin/login?token=${TOKEN}`, ...form('') })
  t.equal(loginViaUrl.statusCode, 401, 'nor is a token in the login URL')

  const bearer = await app.inject({ method: 'GET', url: '/admin', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(bearer.statusCode, 200)
  t.match(bearer.body, /<script type="module" src="\/admin\/admin.js"><\/script>/)
  t.match(bearer.headers, {
    'content-security-policy': /default-src 'self'.*frame-ancestors 'none'/,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  })
  const wrongBearer = await app.inject({ method: 'GET', url: '/admin', headers: { authorization: 'Bearer not-the-token' } })
  t.equal(wrongBearer.statusCode, 401)
  const tokenAsCookie = await app.inject({ method: 'GET', url: '/admin', cookies: { [SESSION_COOKIE]: TOKEN } })
  t.equal(tokenAsCookie.statusCode, 401, 'the cookie holds a MAC of the token, not the token')

  for (const attempt of [form('not-the-token'), form(''), { payload: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } }]) {
    const refused = await app.inject({ method: 'POST', url: '/admin/login', ...attempt })
    t.equal(refused.statusCode, 401)
    t.match(refused.body, /data-testid="login-error">That token is not ADMIN_TOKEN/)
    t.equal(refused.headers['set-cookie'], undefined)
    t.match(refused.headers['content-security-policy'], /default-src 'self'/)
  }

  const login = await app.inject({ method: 'POST', url: '/admin/login', ...form(TOKEN) })
  t.equal(login.statusCode, 303)
  t.equal(login.headers.location, '/admin')
  t.match(login.headers['set-cookie'], /HttpOnly/)
  t.match(login.headers['set-cookie'], /SameSite=Strict/)
  t.notMatch(login.headers['set-cookie'], /Secure/, 'plain http: no Secure, or the browser would drop it')
  const [cookie] = login.cookies
  t.match(cookie, { name: SESSION_COOKIE, value: /^[A-Za-z0-9_-]{43}$/, path: '/', httpOnly: true, sameSite: 'Strict', maxAge: 43_200 })
  t.notMatch(login.headers['set-cookie'], TOKEN, 'the token itself is never in the cookie')
  const stored = await db.sql('SELECT session_hash FROM sms_outbox.admin_sessions')
  t.equal(stored.length, 1, 'the session is kept server-side')
  t.notMatch(JSON.stringify(stored), cookie.value, 'as a hash, never the id the cookie holds')

  const cookies = { [SESSION_COOKIE]: cookie.value }
  t.equal((await app.inject({ method: 'GET', url: '/admin', cookies })).statusCode, 200)
  const api = await app.inject({ method: 'GET', url: '/v1/admin/messages?status=dead', cookies })
  t.equal(api.statusCode, 200, 'the cookie opens the admin API')
  t.equal(api.json().messages.length, 50)

  const logout = await app.inject({ method: 'POST', url: '/admin/logout', cookies, headers: { 'sec-fetch-site': 'same-origin' } })
  t.equal(logout.statusCode, 303)
  t.equal(logout.headers.location, '/admin')
  t.match(logout.cookies, [{ name: SESSION_COOKIE, value: '', path: '/' }])
  t.ok(logout.cookies[0].expires && logout.cookies[0].expires.getTime() <= Date.now(), 'the cookie is expired')
  t.same(await db.sql('SELECT session_hash FROM sms_outbox.admin_sessions'), [], 'the session is gone')
  t.equal((await app.inject({ method: 'GET', url: '/admin', cookies })).statusCode, 401, 'a copy of the cookie no longer opens the page')
  const revoked = await app.inject({ method: 'GET', url: '/v1/admin/messages', cookies })
  t.equal(revoked.statusCode, 401, 'nor the admin API')
  t.match(revoked.json(), { message: /the admin session has ended/ })

  for (const [file, type] of [['admin.js', /^text\/javascript/], ['admin.css', /^text\/css/]] as const) {
    const asset = await app.inject({ method: 'GET', url: `/admin/${file}` })
    t.equal(asset.statusCode, 200, `${file} is public: it holds no data`)
    t.match(asset.headers['content-type'], type)
  }

  const formToApi = await app.inject({ method: 'POST', url: '/v1/messages', ...form('x') })
  t.equal(formToApi.statusCode, 415, 'form bodies are parsed only inside the page plugin')
})

t.test('in a browser: log in, find the dead, read the attempts, retry, cancel, resume, unsuppress', async (t) => {
  const opened = await openPage(t)
  if (!opened) return
  const { page, errors: pageErrors } = opened
  const base = await app.listen({ host: '127.0.0.1', port: 0 })

  const first = await page.goto(`${base}/admin`)
  t.equal(first?.status(), 401)
  t.ok(await page.locator('#login-form input[name="token"][type="password"]').isVisible(), 'the login form')

  await page.fill('#token', 'not-the-token')
  const [refused] = await Promise.all([page.waitForResponse(`${base}/admin/login`), page.click('#login-submit')])
  t.equal(refused.status(), 401)
  await waitForText(page.getByTestId('login-error'), /That token is not ADMIN_TOKEN/)

  await page.fill('#token', TOKEN)
  await Promise.all([page.waitForURL(`${base}/admin`), page.click('#login-submit')])
  const [cookie] = await page.context().cookies()
  t.match(cookie, { name: SESSION_COOKIE, httpOnly: true, sameSite: 'Strict' })
  t.equal(await page.evaluate('document.cookie'), '', 'the page script cannot read the cookie')

  await waitForText(page.getByTestId('count-dead'), /^dead 52$/)
  await waitForText(page.getByTestId('count-pending'), /^pending 1$/)
  const solapi = page.getByTestId('provider-solapi')
  await waitForText(solapi.getByTestId('provider-state'), /^paused since .* after 4030: balance exhausted; next probe .*, 2 so far$/)

  await page.selectOption('#filter-status', 'dead')
  await Promise.all([
    page.waitForResponse((response) => new URL(response.url()).searchParams.get('status') === 'dead'),
    page.click('#apply-filters'),
  ])
  const rows = page.getByTestId('message-row')
  await waitForCount(rows, 50)
  await page.getByTestId('load-more').click()
  await waitForCount(rows, 52)
  t.ok(await page.getByTestId('load-more').isHidden(), 'no more pages')
  t.equal(await page.locator(`tr[data-id="${waitingId}"]`).count(), 0, 'the pending message is filtered out')

  const failedRow = page.locator(`tr[data-id="${failedId}"]`)
  t.equal(await failedRow.getByTestId('row-to').textContent(), '+82 10-****-5678')
  t.equal(await failedRow.getByTestId('row-status').textContent(), 'dead')
  t.equal(await failedRow.getByTestId('row-attempts').textContent(), '2')
  t.equal(await failedRow.getByTestId('row-error-code').textContent(), '1030')
  await assertNoFullNumber(t, page, EVERY_NUMBER, 'the list')

  await failedRow.click()
  await waitForText(page.getByTestId('detail-to'), FAILED.e164)
  t.equal(await page.getByTestId('detail-status').textContent(), 'dead')
  t.equal(await page.getByTestId('detail-text').textContent(), 'Your result is ready')
  t.equal(await page.getByTestId('detail-delivery').textContent(), 'unknown', 'no delivery receipt for a dead message')
  const attemptRows = await page.getByTestId('attempt-row').all()
  const attemptCells = await Promise.all(attemptRows.map((row) => row.locator('td').allTextContents()))
  t.same(
    attemptCells.map((cells) => cells.filter((_, column) => column !== 1)),
    [
      ['1', 'retryable', 'HTTP_503', 'service unavailable', '503', '412 ms'],
      ['2', 'permanent', '1030', 'the number does not exist', '400', '87 ms'],
    ],
    'every attempt: outcome, error code, message, HTTP status, latency',
  )
  t.match(attemptCells[0][1], /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/, 'started at, local time')
  t.ok(await page.getByTestId('retry').isEnabled(), 'retry is offered for a dead message')
  t.ok(await page.getByTestId('cancel').isDisabled(), 'cancel is not')

  await page.getByTestId('retry').click()
  await waitForText(page.getByTestId('detail-status'), /^pending$/)
  await waitForText(failedRow.getByTestId('row-status'), /^pending$/)
  await waitForText(page.getByTestId('admin-action'), /admin-page: retry/)
  await waitForText(page.getByTestId('count-dead'), /^dead 51$/)
  t.ok(await page.getByTestId('retry').isDisabled())
  t.ok(await page.getByTestId('cancel').isEnabled(), 'a pending message can be canceled')
  t.same(await db.sql('SELECT status, counted_attempts FROM sms_outbox.messages WHERE id = $1', [failedId]), [{ status: 'pending', counted_attempts: 0 }])
  t.match(await db.sql('SELECT actor, action FROM sms_outbox.admin_actions WHERE message_id = $1', [failedId]), [{ actor: 'admin-page', action: 'retry' }])

  await page.getByTestId('cancel').click()
  await waitForText(page.getByTestId('detail-status'), /^canceled$/)
  await waitForText(failedRow.getByTestId('row-status'), /^canceled$/)
  t.same(await db.sql('SELECT status FROM sms_outbox.messages WHERE id = $1', [failedId]), [{ status: 'canceled' }])
  t.same(
    await db.sql('SELECT actor, action FROM sms_outbox.admin_actions WHERE message_id = $1 ORDER BY id', [failedId]),
    [{ actor: 'admin-page', action: 'retry' }, { actor: 'admin-page', action: 'cancel' }],
  )

  // Someone else cancels the message while its panel is open: the 409 is shown inline
  // and the panel catches up. Its text is markup, shown as text and never run.
  await page.locator(`tr[data-id="${changedId}"]`).click()
  await waitForText(page.getByTestId('detail-to'), CHANGED.e164)
  t.equal(await page.getByTestId('detail-text').textContent(), HOSTILE_TEXT)
  await db.sql(`UPDATE sms_outbox.messages SET status = 'canceled' WHERE id = $1`, [changedId])
  await page.getByTestId('retry').click()
  await waitForText(page.getByTestId('detail-error'), /cannot be retried: a canceled message is not sent again/)
  await waitForText(page.getByTestId('detail-status'), /^canceled$/)
  t.ok(await page.getByTestId('retry').isDisabled())
  t.equal(await page.evaluate('window.__xss'), undefined, 'no markup ran')

  await page.click('#detail-close')
  t.ok(await page.getByTestId('detail').isHidden())
  await assertNoFullNumber(t, page, EVERY_NUMBER, 'the page after the panel closed')

  await solapi.getByTestId('provider-resume').click()
  await waitForText(solapi.getByTestId('provider-state'), 'sending normally')
  t.same(await db.sql('SELECT provider FROM sms_outbox.provider_pauses'), [])
  t.match(await db.sql(`SELECT actor, action, provider FROM sms_outbox.admin_actions WHERE action = 'resume'`), [
    { actor: 'admin-page', action: 'resume', provider: 'solapi' },
  ])

  // The suppression list: masked numbers, newest first; Remove takes one off, recorded.
  const suppressionRows = page.getByTestId('suppression-row')
  await waitForCount(suppressionRows, 2)
  t.same(await page.getByTestId('suppression-to').allTextContents(), ['+82 10-****-9012', '+82 10-****-8901'])
  t.same(await page.getByTestId('suppression-reason').allTextContents(), ['invalid_number', 'opted_out'])
  await assertNoFullNumber(t, page, EVERY_NUMBER, 'the suppression list')
  const optedOutRow = suppressionRows.filter({ hasText: '+82 10-****-8901' })
  t.match(await optedOutRow.textContent(), /21610.*twilio/)
  await optedOutRow.getByTestId('unsuppress').click()
  await waitForCount(suppressionRows, 1)
  t.same(await db.sql('SELECT recipient FROM sms_outbox.suppressions'), [{ recipient: ADDED.e164 }])
  t.match(await db.sql(`SELECT actor, action, recipient FROM sms_outbox.admin_actions WHERE action = 'unsuppress'`), [
    { actor: 'admin-page', action: 'unsuppress', recipient: OPTED_OUT.e164 },
  ])
  await page.fill('#suppression-to', '010-4567-8901')
  await Promise.all([
    page.waitForResponse((response) => new URL(response.url()).pathname === '/v1/admin/suppressions'),
    page.click('#apply-suppression-filter'),
  ])
  await page.getByTestId('suppressions-empty').waitFor()
  t.equal(await suppressionRows.count(), 0, 'the removed number is no longer listed')

  // Suppress a number by hand: its pending message is canceled at once, and the page says so.
  const stoppingId = await enqueue(db, { to: '010-6789-0123', text: 'to be stopped' })
  await page.fill('#suppress-to', '010-6789-0123')
  await page.click('#suppress-number')
  await waitForText(page.getByTestId('suppress-result'), 'Suppressed +82 10-****-0123; 1 pending message canceled.')
  t.match(await db.sql('SELECT status, last_error_code FROM sms_outbox.messages WHERE id = $1', [stoppingId]), [
    { status: 'canceled', last_error_code: 'RECIPIENT_SUPPRESSED' },
  ])
  t.match(await db.sql(`SELECT actor, action, recipient FROM sms_outbox.admin_actions WHERE action = 'suppress'`), [
    { actor: 'admin-page', action: 'suppress', recipient: '+821067890123' },
  ])

  await Promise.all([page.waitForURL(`${base}/admin`), page.click('#logout')])
  t.ok(await page.locator('#login-form').isVisible(), 'logged out: the login form again')
  t.same(await page.context().cookies(), [])
  t.same(pageErrors, [], 'no script error and no CSP violation')
})

/** Waits until `locator`'s text matches; fails the test with what it showed instead. */
async function waitForText(locator: Locator, expected: RegExp | string): Promise<void> {
  const pattern = typeof expected === 'string' ? new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : expected
  try {
    await locator.filter({ hasText: pattern }).first().waitFor()
  } catch (error) {
    const shown = await locator.allTextContents().catch(() => [])
    throw new Error(`expected ${pattern} in ${locator}, found ${JSON.stringify(shown)}`, { cause: error })
  }
}

/** Waits until `locator` matches exactly `count` elements: the list may still show the old rows. */
async function waitForCount(locator: Locator, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const actual = await locator.count()
    if (actual === count) return
    if (performance.now() > deadline) throw new Error(`expected ${count} of ${locator}, found ${actual}`)
    await new Promise((done) => setTimeout(done, 50))
  }
}

/** No seeded number appears in full in the page's text or markup, however it is written. */
async function assertNoFullNumber(
  t: Test,
  page: Page,
  numbers: { hidden: string }[],
  where: string,
): Promise<void> {
  const text = (await page.locator('body').innerText()).replace(/[\s-]/g, '')
  const html = (await page.content()).replace(/[\s-]/g, '')
  const leaked = numbers.filter(({ hidden }) => text.includes(hidden) || html.includes(hidden))
  t.same(leaked, [], `${where}: only masked numbers`)
}
