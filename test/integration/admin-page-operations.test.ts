import { mkdirSync } from 'node:fs'
import type { Locator } from 'playwright-core'
import t from 'tap'
import { buildTestApp } from '../helpers/test-app.ts'
import { resumeProvider } from '../../src/outbox/dispatch/provider-pauses.ts'
import { sampleQueue } from '../../src/metrics/queue-samples.ts'
import { openPage } from '../helpers/browser-page.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { enqueue, silentLog, webhookDispatcher } from '../helpers/outbox-fixture.ts'
import { createTestDatabase } from '../helpers/test-database.ts'

// The admin page as an admin paged at night uses it: charts, search, bulk retry and
// cancel with a dry run, live refresh, a manual provider pause that stops a dispatcher,
// keyboard only, a phone's width, dark mode. Screenshots of each view go to
// .tap/screenshots (gitignored): the test's artifacts, not the docs' copies.

const TOKEN = 'a-test-admin-token-0123456789'
const SCREENSHOTS = new URL('../../.tap/screenshots/', import.meta.url)
// Short, so that the live refresh is seen at once; the page's default is 5 s.
const REFRESH_MS = 300

const db = await createTestDatabase(t)
const webhook = await startFakeWebhook(t)
const app = await buildTestApp({
  config: { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, SMS_PROVIDER: 'webhook', SMS_WEBHOOK_URL: webhook.url },
  database: db,
  logger: silentLog,
})
t.teardown(() => app.close())

// 60 dead with one error code: more than a page (50), so "all that match" means more
// than the ticked page. One dead with another code, which a bulk retry by code leaves.
const BULK_CODE = 'NIGHT_503'
const bulkIds: string[] = []
for (let i = 0; i < 60; i += 1) bulkIds.push(await enqueue(db, { to: `010-6000-${String(i).padStart(4, '0')}`, text: `bulk ${i}` }))
const otherId = await enqueue(db, { to: '010-6100-0001', text: 'other failure' })
await db.sql(
  `UPDATE sms_outbox.messages SET status = 'dead', attempts = 1, counted_attempts = 1, provider = 'webhook',
     last_error_code = $2, last_error = 'service unavailable', updated_at = now()
   WHERE id = ANY($1::uuid[])`,
  [bulkIds, BULK_CODE],
)
await db.sql(
  `UPDATE sms_outbox.messages SET status = 'dead', attempts = 1, counted_attempts = 1, provider = 'webhook',
     last_error_code = 'OTHER', last_error = 'other', updated_at = now() WHERE id = $1`,
  [otherId],
)
// Three pending messages of one night's campaign, found by metadata; one by its key.
const NIGHT = { to: '010-7777-0001', e164: '+821077770001', masked: '+82 10-****-0001' }
const nightIds = [
  await enqueue(db, { to: NIGHT.to, text: 'Your parcel arrives tonight between 9 and 11', metadata: { campaign: 'night', orderId: 'A-77' } }),
  await enqueue(db, { to: '010-7777-0002', text: 'night two', metadata: { campaign: 'night' } }),
  await enqueue(db, { to: '010-7777-0003', text: 'night three', metadata: { campaign: 'night' } }),
]
const IDEMPOTENCY_KEY = 'order-A-78-notice'
// Stored as the API stores keys: hashed (src/outbox/enqueue/idempotency-key.ts).
await db.sql(
  `UPDATE sms_outbox.messages SET idempotency_key = encode(sha256(convert_to($2, 'UTF8')), 'hex'),
                                  next_attempt_at = now() + interval '1 hour' WHERE id = $1`,
  [nightIds[1], IDEMPOTENCY_KEY],
)
// Not due for an hour: the dispatcher of the pause check below leaves them alone.
await db.sql(`UPDATE sms_outbox.messages SET next_attempt_at = now() + interval '1 hour' WHERE id = ANY($1::uuid[])`, [nightIds])
// Latency for the chart: two finished attempts this minute.
await db.sql(
  `INSERT INTO sms_outbox.message_attempts (message_id, attempt, started_at, finished_at, outcome, error_code, latency_ms)
   VALUES ($1, 1, now(), now(), 'retryable', $2, 120), ($3, 1, now(), now(), 'retryable', $2, 480)`,
  [bulkIds[0], BULK_CODE, bulkIds[1]],
)

// Sent 8 days ago (outside both charts' spans), its receipt said undelivered just now.
const undeliveredId = await enqueue(db, { to: '010-7777-0009', text: 'sent last week' })
await db.sql(
  `UPDATE sms_outbox.messages SET status = 'sent', attempts = 1, counted_attempts = 1, provider = 'twilio',
     created_at = now() - interval '8 days', updated_at = now() - interval '8 days', sent_at = now() - interval '8 days',
     delivery_status = 'undelivered', delivery_at = now(), delivery_error_code = '30006'
   WHERE id = $1`,
  [undeliveredId],
)

// The queue as a worker read it 10 minutes ago, for the queue chart.
await db.sql(`INSERT INTO sms_outbox.queue_samples (at, queued, due, oldest_due_seconds)
              VALUES (date_trunc('minute', now()) - interval '10 minutes', 5, 2, 30.4)`)

t.test('the queue sampler keeps one reading a minute, whichever worker takes it', async (t) => {
  const scratch = await createTestDatabase(t)
  await enqueue(scratch, { text: 'due now' })
  const later = await enqueue(scratch, { text: 'due later' })
  await scratch.sql(`UPDATE sms_outbox.messages SET next_attempt_at = now() + interval '1 hour' WHERE id = $1`, [later])
  await scratch.sql(`INSERT INTO sms_outbox.queue_samples (at, queued, due, oldest_due_seconds) VALUES (now() - interval '9 days', 1, 1, 1)`)
  t.equal(await sampleQueue(scratch.pool), true)
  t.equal(await sampleQueue(scratch.pool), false, 'a second worker in the same minute records nothing')
  t.match(await scratch.sql('SELECT queued, due, oldest_due_seconds, at = date_trunc(\'minute\', now()) AS this_minute FROM sms_outbox.queue_samples'), [
    { queued: 2, due: 1, this_minute: true },
  ], 'and readings older than 8 days are dropped')
})

t.test('over HTTP: the new admin routes refuse bad input', async (t) => {
  const headers = { authorization: `Bearer ${TOKEN}` }
  const call = (method: 'GET' | 'POST', url: string, payload?: unknown) => app.inject({ method, url, headers, payload: payload as object })
  t.equal((await call('GET', '/v1/admin/charts/throughput?range=day')).statusCode, 400)
  t.equal((await call('POST', '/v1/admin/messages/cancel', { ids: ['not-a-uuid'] })).statusCode, 400)
  t.equal((await call('POST', '/v1/admin/messages/cancel', { ids: [] })).statusCode, 400, 'an empty id list is not "everything"')
  t.equal((await call('POST', '/v1/admin/providers/webhook/pause', { reason: '' })).statusCode, 400)
  t.equal((await call('POST', '/v1/admin/providers/webhook/pause', {})).statusCode, 400)
  t.equal((await call('POST', '/v1/admin/providers/acme/pause', { reason: 'x' })).statusCode, 400)
  t.same(await db.sql('SELECT provider FROM sms_outbox.provider_pauses'), [], 'nothing half-written')
  t.same((await call('GET', '/v1/admin/counts')).json(), {
    byStatus: { pending: 3, sending: 0, dead: 61, expired: 0, sent: 1, canceled: 0 },
  }, 'the counts the header polls')
  const page = await app.inject({ method: 'GET', url: '/admin', headers })
  t.notMatch(page.body, /<script(?![^>]*\bsrc=)/, 'no inline script')
  t.notMatch(page.body, /\sstyle=|<style/, 'no inline style')
  const library = await app.inject({ method: 'GET', url: '/admin/vendor/uplot.js' })
  t.equal(library.statusCode, 200, 'uPlot is served by the service itself')
  t.match(library.headers['content-type'], /^text\/javascript/)
  t.match((await app.inject({ method: 'GET', url: '/admin/vendor/uplot.css' })).headers['content-type'], /^text\/css/)
})

t.test('in a browser: charts, search, bulk retry and cancel, live refresh, manual pause, keyboard, phone, dark', async (t) => {
  const opened = await openPage(t, { viewport: { width: 1400, height: 1000 }, colorScheme: 'light' })
  if (!opened) return
  const { page, errors: pageErrors } = opened
  mkdirSync(SCREENSHOTS, { recursive: true })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  /** A screenshot of the view, scrolled to `heading` first (the docs show the part that matters). */
  const shoot = async (name: string, heading?: string) => {
    if (heading) await page.locator(heading).evaluate((node) => (node as unknown as { scrollIntoView(): void }).scrollIntoView())
    await page.screenshot({ path: new URL(`admin-${name}.png`, SCREENSHOTS).pathname })
  }
  // Read through the page, with its session: what the page itself could read now.
  const apiJson = (path: string) =>
    page.evaluate(
      async (path) => (await fetch(path, { headers: { accept: 'application/json' } })).json(),
      path,
    ) as Promise<Record<string, (number | string | null)[]>>

  await page.goto(`${base}/admin`)
  await page.fill('#token', TOKEN)
  // The login form is served at /admin too: wait for the page behind it, not the URL.
  await page.click('#login-submit')
  await page.getByTestId('filters').waitFor()
  await page.goto(`${base}/admin?refresh=${REFRESH_MS}`)
  await page.evaluate('window.__sameDocument = true')

  await t.test('charts: the throughput chart is drawn, and its points are the API\'s', async (t) => {
    const canvas = page.getByTestId('chart-throughput')
    await canvas.waitFor()
    t.equal(await canvas.evaluate((node) => node.tagName), 'CANVAS')
    t.ok(((await canvas.boundingBox())?.width ?? 0) > 200, 'drawn at the width of its box')
    await page.locator('#throughput-data tbody tr').first().waitFor({ state: 'attached' })
    // Nothing writes meanwhile, so the page's table and a fresh API read agree, bucket by
    // bucket (matched by label: a minute may roll over between the two reads).
    const api = await apiJson('/v1/admin/charts/throughput?range=hour')
    t.equal(api.at.length, 60)
    const table = await tableCells(page.locator('#throughput-data tbody tr'))
    t.equal(table.length, 60, 'a row per minute')
    t.same(sums(table), [64, 0, 61, 0, 1], '64 accepted, 61 dead and 1 undelivered receipt in the hour')
    const shown = new Map(table.map(([label, ...values]) => [label, values]))
    const compared = api.at.filter((at, i) => {
      const values = shown.get(bucketLabel(at as string, 'hour'))
      if (values) t.same(values, [api.accepted[i], api.sent[i], api.dead[i], api.expired[i], api.undelivered[i]].map(String), `bucket ${at}`)
      return values !== undefined
    })
    t.ok(compared.length >= 59, 'every bucket both show')
    t.same(await page.evaluate('window.uPlot && document.querySelector("[data-testid=chart-throughput]").width > 0'), true)

    const latency = await apiJson('/v1/admin/charts/latency?range=hour')
    const measured = latency.p50.findIndex((value) => value !== null)
    t.same([latency.p50[measured], latency.p99[measured]], [300, 476], 'p50 and p99 of 120 and 480 ms')
    const latencyTable = await tableCells(page.locator('#latency-data tbody tr'))
    t.same(latencyTable.filter((row) => row[1] !== '–'), [[bucketLabel(latency.at[measured] as string, 'hour'), '300', '476']])

    await page.getByTestId('chart-queue').waitFor()
    await waitForText(page.locator('#queue-data tbody tr').first(), /^now300$/, 'attached')
    const queue = await apiJson('/v1/admin/charts/queue?range=hour')
    const sampled = queue.queued.findIndex((value) => value !== null)
    t.same([queue.queued[sampled], queue.due[sampled], queue.oldestDueSeconds[sampled]], [5, 2, 30], "a worker's reading of 10 minutes ago")
    const queueTable = await tableCells(page.locator('#queue-data tbody tr'))
    t.same(
      queueTable.filter((row) => row[1] !== '–'),
      [['now', '3', '0', '0'], [bucketLabel(queue.at[sampled] as string, 'hour'), '5', '2', '30']],
      'the table shows the same, "now" first',
    )
    await shoot('overview')
    // The same numbers as a table, for screen readers and for reading exact values.
    await page.locator('#throughput-figure summary').click()
    await page.locator('#throughput-data tbody tr').first().waitFor()

    await page.getByLabel('Last 7 days, per hour').check()
    await page.locator('#throughput-data[data-range=week]').waitFor()
    const week = await apiJson('/v1/admin/charts/throughput?range=week')
    const weekTable = await tableCells(page.locator('#throughput-data tbody tr'))
    t.equal(weekTable.length, 168, 'a row per hour of 7 days')
    t.same(sums(weekTable), [64, 0, 61, 0, 1], 'the same messages over the week')
    const weekShown = new Map(weekTable.map(([label, ...values]) => [label, values]))
    const busiest = week.accepted.findIndex((value) => value !== 0)
    t.same(weekShown.get(bucketLabel(week.at[busiest] as string, 'week')), [week.accepted[busiest], week.sent[busiest], week.dead[busiest], week.expired[busiest], week.undelivered[busiest]].map(String))
    await page.getByLabel('Last hour, per minute').check()
    await page.locator('#throughput-data[data-range=hour]').waitFor()
  })

  await t.test('search: by metadata, idempotency key, number and id; the text begins in the list', async (t) => {
    const rows = page.getByTestId('message-row')
    await page.selectOption('#filter-status', '')
    const search = async (q: string, count: number) => {
      await page.getByTestId('search').fill(q)
      await Promise.all([
        page.waitForResponse((response) => new URL(response.url()).searchParams.get('q') === q),
        page.getByTestId('search').press('Enter'),
      ])
      await waitForCount(rows, count)
    }
    await search('orderId=A-77', 1)
    t.equal(await rows.getByTestId('row-text').textContent(), 'Your parcel arrives tonight between 9 an', "the text's first 40 characters")
    t.equal(await rows.getAttribute('data-id'), nightIds[0])
    await search('night', 3)
    await search(IDEMPOTENCY_KEY, 1)
    t.equal(await rows.getAttribute('data-id'), nightIds[1])
    await search(NIGHT.to, 1)
    t.equal(await rows.getByTestId('row-to').textContent(), NIGHT.masked, 'the number is masked in the list')
    await search(nightIds[2], 1)
    t.equal(await rows.getAttribute('data-id'), nightIds[2])
    await search('nothing-like-this', 0)
    await page.getByTestId('search').fill('')
    await page.selectOption('#filter-status', 'dead,expired')
    await page.getByTestId('search').press('Enter')
    await waitForCount(rows, 50)
  })

  await t.test('bulk retry of everything a filter matches: dry run, confirm, the rows move', async (t) => {
    const rows = page.getByTestId('message-row')
    await page.fill('#filter-error-code', BULK_CODE)
    await page.selectOption('#filter-status', 'dead')
    await page.click('#apply-filters')
    await waitForCount(rows, 50)
    await page.getByTestId('select-page').check()
    await waitForText(page.getByTestId('selection-count'), '50 selected')
    await page.getByTestId('select-all-matching').click()
    await waitForText(page.getByTestId('selection-count'), 'All 60 messages that match this filter are selected')
    await shoot('selection', '#messages-title')
    await page.getByTestId('bulk-retry').click()
    const summary = page.getByTestId('dry-run-summary')
    await waitForText(summary, /Retry 60 messages\?By status: dead 60\.By error code: NIGHT_503 × 60\./)
    t.equal((await db.sql(`SELECT count(*)::int AS n FROM sms_outbox.messages WHERE status = 'dead'`))[0].n, 61, 'a dry run changes nothing')
    await shoot('dry-run', '#messages-title')
    await page.getByTestId('confirm').click()
    await waitForText(page.getByTestId('bulk-result'), /^Retried 60 messages\.By status: dead 60\.By error code: NIGHT_503 × 60\.$/)
    t.same(await db.sql(`SELECT status, count(*)::int AS n FROM sms_outbox.messages WHERE id = ANY($1::uuid[]) GROUP BY 1`, [bulkIds]), [{ status: 'pending', n: 60 }])
    t.same(await db.sql('SELECT status FROM sms_outbox.messages WHERE id = $1', [otherId]), [{ status: 'dead' }], 'another error code is left alone')
    t.same(
      await db.sql(`SELECT actor, count(*)::int AS n FROM sms_outbox.admin_actions WHERE action = 'retry' AND detail->>'bulk' = 'true' GROUP BY 1`),
      [{ actor: 'admin-page', n: 60 }],
      'each recorded in admin_actions',
    )
    await page.keyboard.press('Escape')
    await page.locator('#confirm-dialog').waitFor({ state: 'hidden' })
    await page.locator('#list-empty').waitFor()
    t.equal(await rows.count(), 0, 'the retried rows left the list of dead ones')
    await waitForText(page.getByTestId('count-dead'), 'dead 1')
  })

  await t.test('keyboard only: tick two rows, bulk cancel them, confirm with Enter', async (t) => {
    const rows = page.getByTestId('message-row')
    await page.fill('#filter-error-code', '')
    await page.selectOption('#filter-status', 'pending')
    await page.getByTestId('search').fill('campaign=night')
    await page.getByTestId('search').press('Enter')
    await waitForCount(rows, 3)
    // Tab from the search box to the first row: focus is visible on each stop.
    await page.getByTestId('search').focus()
    await page.keyboard.press('Shift+Tab')
    await page.keyboard.press('Tab')
    t.not(await outlineOf(page.getByTestId('search')), 'none', 'focus is visible')
    await rows.first().focus()
    await page.keyboard.press('Space')
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('Space')
    await waitForText(page.getByTestId('selection-count'), '2 selected')
    t.not(await outlineOf(rows.nth(1)), 'none', 'the focused row shows it')
    await page.keyboard.press('Enter')
    await waitForText(page.getByTestId('detail-status'), 'pending')
    await page.keyboard.press('Escape')
    await page.getByTestId('detail').waitFor({ state: 'hidden' })
    t.equal(await page.evaluate('document.activeElement.dataset.id'), await rows.nth(1).getAttribute('data-id'), 'focus back on the row')
    await page.getByTestId('bulk-cancel').focus()
    await page.keyboard.press('Enter')
    await waitForText(page.getByTestId('dry-run-summary'), /Cancel 2 messages\?By status: pending 2\./)
    t.equal(await page.evaluate('document.activeElement.dataset.testid'), 'confirm', 'focus on Confirm')
    await page.keyboard.press('Enter')
    await waitForText(page.getByTestId('bulk-result'), /^Canceled 2 messages\./)
    await page.keyboard.press('Escape')
    const canceled = await db.sql<{ id: string }>(`SELECT id FROM sms_outbox.messages WHERE status = 'canceled' ORDER BY id`)
    t.equal(canceled.length, 2)
    t.same(
      await db.sql(`SELECT count(*)::int AS n FROM sms_outbox.admin_actions WHERE action = 'cancel' AND actor = 'admin-page' AND detail->>'bulk' = 'true'`),
      [{ n: 2 }],
    )
    await waitForCount(rows, 1)
  })

  await t.test('live: a new dead message appears without a reload; filter, ticks and the open detail stay', async (t) => {
    const rows = page.getByTestId('message-row')
    await page.getByTestId('search').fill('')
    await page.selectOption('#filter-status', 'dead,expired')
    await page.click('#apply-filters')
    await waitForCount(rows, 1)
    const other = page.locator(`tr[data-id="${otherId}"]`)
    await other.getByTestId('row-select').check()
    await other.click()
    await waitForText(page.getByTestId('detail-status'), 'dead')
    await waitForText(page.getByTestId('last-updated'), /^updated \d+ s ago$/)

    const newId = await enqueue(db, { to: '010-8888-0001', text: 'died just now' })
    await db.sql(`UPDATE sms_outbox.messages SET status = 'dead', attempts = 1, counted_attempts = 1, last_error_code = 'FRESH', updated_at = now() WHERE id = $1`, [newId])
    await page.locator(`tr[data-id="${newId}"]`).waitFor()
    t.equal(await page.evaluate('window.__sameDocument'), true, 'no reload')
    t.equal(await page.locator('#filter-status').inputValue(), 'dead,expired', 'the filter stays')
    t.ok(await other.getByTestId('row-select').isChecked(), 'the tick stays')
    t.ok(await page.getByTestId('detail').isVisible(), 'the detail stays open')
    t.equal(await page.locator('#detail-id').textContent(), otherId)
    await waitForText(page.getByTestId('count-dead'), 'dead 2')
    await shoot('live-detail', '#messages-title')

    await page.getByTestId('live-toggle').click()
    await waitForText(page.getByTestId('last-updated'), /, live updates paused$/)
    t.equal(await page.getByTestId('live-toggle').getAttribute('aria-pressed'), 'true')
    await page.getByTestId('live-toggle').click()
    await waitForText(page.getByTestId('last-updated'), /^updated \d+ s ago$/)
    await page.click('#detail-close')
    await other.getByTestId('row-select').uncheck()
  })

  await t.test('providers: a manual pause stops a dispatcher, no probe ends it, resume does', async (t) => {
    const { dispatcher, watch } = webhookDispatcher(db, webhook.url)
    const row = page.getByTestId('provider-webhook')
    await waitForText(row.getByTestId('provider-state'), 'sending normally')
    t.match(await row.getByTestId('provider-budget').textContent(), /^\d+ of \d+ retries \(0\.2 × \d+ first attempts \+ \d+\)$/)
    await row.getByTestId('provider-pause').click()
    await page.getByTestId('pause-reason').fill('carrier incident <b>tonight</b>')
    await page.getByTestId('confirm').click()
    await waitForText(page.getByTestId('bulk-result'), 'webhook is paused.')
    await page.keyboard.press('Escape')
    await waitForText(row.getByTestId('provider-state'), /^paused since .* by admin-page \(stays until resumed\): carrier incident <b>tonight<\/b>$/)
    t.match(await db.sql(`SELECT actor, action, provider, detail FROM sms_outbox.admin_actions WHERE action = 'pause'`), [
      { actor: 'admin-page', action: 'pause', provider: 'webhook', detail: { reason: 'carrier incident <b>tonight</b>' } },
    ])
    await shoot('providers', '#providers-title')
    dispatcher.start()

    const due = await enqueue(db, { to: '010-9999-0001', text: 'during the incident' })
    // However long the pause lasts, no probe: its probe time long past changes nothing.
    await db.sql(`UPDATE sms_outbox.provider_pauses SET next_probe_at = now() - interval '1 hour'`)
    const passes = await watch.nextPasses(3)
    t.same(passes.map((pass) => pass.claimed), [0, 0, 0], 'the dispatcher claims nothing')
    t.same(webhook.ledger, [], 'nothing reached the provider')
    t.equal(await resumeProvider(db.pool, 'webhook'), false, 'a probe success would not end it either')

    await row.getByTestId('provider-resume').click()
    await waitForText(row.getByTestId('provider-state'), 'sending normally')
    t.equal(await watch.settled(db, due), 'sent', 'resumed: the dispatcher sends again')
    t.ok(webhook.ledger.some((receipt) => receipt.id === due), 'it reached the provider')
    t.match(await db.sql(`SELECT actor, action FROM sms_outbox.admin_actions WHERE action = 'resume'`), [{ actor: 'admin-page', action: 'resume' }])
    await dispatcher.stop()
  })

  await t.test('a phone: 390 px wide, nothing wider than the screen; dark mode follows the system', async (t) => {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.evaluate('window.scrollTo(0, 0)')
    await page.waitForFunction(() => (globalThis as unknown as InPage).document.documentElement.scrollWidth <= 390)
    t.ok(await page.getByTestId('bulk-retry').isVisible())
    await shoot('phone')
    await page.setViewportSize({ width: 1400, height: 1000 })
    t.equal(await page.evaluate('getComputedStyle(document.documentElement).backgroundColor'), 'rgb(246, 247, 249)')
    await page.emulateMedia({ colorScheme: 'dark' })
    t.equal(await page.evaluate('getComputedStyle(document.documentElement).backgroundColor'), 'rgb(20, 23, 27)', 'dark')
    await page.reload()
    await page.getByTestId('chart-throughput').waitFor()
    await waitForText(page.getByTestId('last-updated'), /^updated \d+ s ago$/)
    await shoot('dark')
  })

  t.same(pageErrors, [], 'no script error and no CSP violation')
})

/** The browser's globals that page functions use (this project compiles without the DOM types). */
interface InPage {
  document: { querySelectorAll(selector: string): { length: number }; documentElement: { scrollWidth: number } }
}

/** The computed outline style of `locator`'s element: 'none' when focus would not show. */
function outlineOf(locator: Locator): Promise<string> {
  return locator.evaluate((node) => (globalThis as unknown as { getComputedStyle(n: unknown): { outlineStyle: string } }).getComputedStyle(node).outlineStyle)
}

/** Column totals of a chart table (the first column is the bucket's label). */
function sums(table: string[][]): number[] {
  return table.reduce((totals, [, ...values]) => totals.map((total, i) => total + Number(values[i])), [0, 0, 0, 0, 0])
}

/** A bucket's label as the page writes it, in local time: 18:49, or 11-29 18:00 for the week. */
function bucketLabel(iso: string, range: 'hour' | 'week'): string {
  const date = new Date(iso)
  const pad = (n: number) => String(n).padStart(2, '0')
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}`
  return range === 'week' ? `${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}` : time
}

/** The text of each cell of `rows`. */
async function tableCells(rows: Locator): Promise<string[][]> {
  return Promise.all((await rows.all()).map((row) => row.locator('td').allTextContents()))
}

/** Waits until `locator`'s text matches (in a closed <details>: `attached`, as it is hidden). */
async function waitForText(locator: Locator, expected: RegExp | string, state: 'visible' | 'attached' = 'visible'): Promise<void> {
  const pattern = typeof expected === 'string' ? new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : expected
  try {
    await locator.filter({ hasText: pattern }).first().waitFor({ state })
  } catch (error) {
    const shown = await locator.allTextContents().catch(() => [])
    throw new Error(`expected ${pattern} in ${locator}, found ${JSON.stringify(shown)}`, { cause: error })
  }
}

/** Waits until the list shows exactly `count` rows: it may still show the old ones. */
async function waitForCount(rows: Locator, count: number): Promise<void> {
  try {
    // A function, not a string: the page's CSP forbids eval, which a string predicate needs.
    await rows.page().waitForFunction((count) => (globalThis as unknown as InPage).document.querySelectorAll('[data-testid=message-row]').length === count, count)
  } catch (error) {
    throw new Error(`expected ${count} message rows, found ${await rows.count()}`, { cause: error })
  }
}
