// The admin page: plain DOM over the admin JSON API (/v1/admin/*), authenticated by the
// session cookie the login form set. Data is written only as text (textContent, append
// of strings), never as HTML, so nothing a caller put in a message can run here. Every
// write is a JSON fetch from this origin (the browser adds Sec-Fetch-Site: same-origin).
// The charts are drawn by uPlot, loaded before this module from /admin/vendor/uplot.js.

const ACTOR = 'admin-page'
const STATUSES = ['pending', 'sending', 'sent', 'dead', 'expired', 'canceled']
const RETRYABLE = ['dead', 'expired']
const PAGE_SIZE = 50
/** The list API's largest page: a refresh rereads at most this many rows. */
const MAX_PAGE = 200
/** The week's charts change by the hour, and the server shares one reading a minute. */
const WEEK_REFRESH_MS = 60_000

// `?refresh=ms` sets how often the page refreshes itself (tests use a short one).
const REFRESH_MS = (() => {
  const asked = Number(new URLSearchParams(location.search).get('refresh'))
  return Number.isFinite(asked) && asked >= 200 ? asked : 5_000
})()

const $ = (id) => document.getElementById(id)

const state = {
  /** The applied filter, as the list route's query string. */
  query: new URLSearchParams(),
  cursor: null,
  /** Summaries shown in the table, by id, in order; the `to` in them is masked. */
  rows: new Map(),
  openId: null,
  /** Ticked rows; with `allMatching`, every message the filter matches instead. */
  selected: new Set(),
  allMatching: null,
  // Bumped by every new list or detail request, so a slow answer to an older one is
  // dropped instead of overwriting a newer one.
  listGeneration: 0,
  detailGeneration: 0,
  /** The suppression list: its applied `to` filter, cursor and request generation. */
  suppressions: { query: new URLSearchParams(), cursor: null, generation: 0 },
  live: { paused: false, timer: null, lastUpdated: null, refreshing: false, weekLoadedAt: 0 },
  range: 'hour',
  charts: { throughput: null, queue: null, latency: null },
  /** What the open dialog confirms: a function run on Confirm, or null. */
  dialogAction: null,
}

class ApiError extends Error {}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { accept: 'application/json' }
  if (method !== 'GET') headers['x-admin-actor'] = ACTOR
  // Every write carries a JSON body, even an empty one: cookie-authenticated writes must.
  if (method !== 'GET') headers['content-type'] = 'application/json'
  let response
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
    })
  } catch {
    throw new ApiError('the server did not answer; is it running?')
  }
  if (response.status === 401) throw new ApiError('your session has ended: reload the page to log in again')
  const answer = await response.json().catch(() => null)
  if (!response.ok) throw new ApiError(answer?.message ?? `the server answered HTTP ${response.status}`)
  return answer
}

/** An element with attributes and children; string children become text nodes. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? '' : value)
  }
  node.append(...children.map((child) => child ?? ''))
  return node
}

/**
 * Shows `fresh` (rows with data-key and data-signature) in `container`, in order, keeping
 * every row whose signature did not change: a refresh must not take a button away from
 * under the pointer, nor focus from a row.
 */
function reconcile(container, fresh) {
  const current = new Map([...container.children].map((node) => [node.dataset.key, node]))
  const wanted = new Set(fresh.map((node) => node.dataset.key))
  for (const [key, node] of current) if (!wanted.has(key)) node.remove()
  let position = container.firstElementChild
  for (const node of fresh) {
    const old = current.get(node.dataset.key)
    let placed = node
    if (old && old.dataset.signature === node.dataset.signature) placed = old
    else if (old) {
      if (position === old) position = old.nextElementSibling
      old.remove()
    }
    if (placed !== position) container.insertBefore(placed, position)
    position = placed.nextElementSibling
  }
}

function showError(id, error) {
  const line = $(id)
  line.textContent = error instanceof Error ? error.message : String(error)
  line.hidden = false
}

function hideError(id) {
  $(id).hidden = true
  $(id).textContent = ''
}

const pad = (n) => String(n).padStart(2, '0')

/** Local time, to the second: 2026-11-29 18:49:16. */
function formatTime(iso) {
  if (!iso) return ''
  const date = new Date(iso)
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
}

/** A bucket's start as the chart tables show it: 18:49, or 11-29 18:00 for the week. */
function formatBucket(iso) {
  const date = new Date(iso)
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}`
  return state.range === 'week' ? `${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}` : time
}

function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

// Header: counts.

async function refreshCounts() {
  const stats = await api('/v1/admin/counts')
  $('status-counts').replaceChildren(
    ...STATUSES.map((status) =>
      el('li', { class: status, 'data-testid': `count-${status}` }, `${status} ${stats.byStatus[status] ?? 0}`),
    ),
  )
}

// Providers: state, limits, pause and resume.

async function refreshProviders() {
  const providers = await api('/v1/admin/providers')
  $('active-provider').textContent = providers.active ?? 'none (ROLE=api)'
  const pauses = new Map(providers.paused.map((pause) => [pause.provider, pause]))
  reconcile($('provider-rows'), providers.providers.map((provider) => providerRow(provider, pauses.get(provider.provider))))
}

function providerRow(provider, pause) {
  const { retryBudget: budget } = provider
  let stateText = 'sending normally'
  if (pause) {
    const who = pause.pausedBy ? `by ${pause.pausedBy} (stays until resumed)` : `after ${pause.errorCode}`
    const probe = pause.nextProbeAt ? `; next probe ${formatTime(pause.nextProbeAt)}, ${pause.probes} so far` : ''
    stateText = `paused since ${formatTime(pause.pausedAt)} ${who}: ${pause.reason}${probe}`
  }
  const button = pause
    ? el('button', { type: 'button', 'data-testid': 'provider-resume', 'aria-label': `Resume ${provider.provider}` }, 'Resume')
    : el('button', { type: 'button', 'data-testid': 'provider-pause', 'aria-label': `Pause ${provider.provider}…` }, 'Pause…')
  button.addEventListener('click', () => (pause ? resumeProvider(provider.provider) : askToPause(provider.provider)))
  return el(
    'tr',
    {
      'data-key': provider.provider,
      'data-signature': JSON.stringify([provider, pause]),
      'data-testid': `provider-${provider.provider}`,
      class: pause ? 'paused' : '',
    },
    el('th', { scope: 'row' }, provider.provider),
    el('td', { 'data-testid': 'provider-state', class: pause ? 'state-paused' : 'state-ok' }, stateText),
    el('td', {}, provider.rateLimitPerSecond === null ? 'none' : `${provider.rateLimitPerSecond}/s, shared`),
    el(
      'td',
      { 'data-testid': 'provider-budget' },
      `${budget.retriesLastMinute} of ${budget.retriesAllowedLastMinute} retries ` +
        `(${budget.ratio} × ${budget.firstAttemptsLastMinute} first attempts + ${budget.minPerMinute})`,
    ),
    el('td', {}, button),
  )
}

async function resumeProvider(provider) {
  hideError('page-error')
  try {
    await api(`/v1/admin/providers/${encodeURIComponent(provider)}/resume`, { method: 'POST' })
  } catch (error) {
    showError('page-error', error)
  }
  await refreshProviders().catch((error) => showError('page-error', error))
  $('provider-rows').querySelector(`tr[data-key="${CSS.escape(provider)}"] button`)?.focus()
}

function askToPause(provider) {
  openDialog({
    title: `Pause ${provider}`,
    summary: [
      `No dispatcher sends through ${provider} until an admin resumes it: no probe message tests it.`,
      'Messages stay pending and go out on resume (unless they expire first).',
    ],
    reason: true,
    confirmLabel: `Pause ${provider}`,
    run: async () => {
      const reason = $('dialog-reason').value.trim()
      if (!reason) throw new Error('say why, for the other admins')
      const { paused } = await api(`/v1/admin/providers/${encodeURIComponent(provider)}/pause`, { method: 'POST', body: { reason } })
      await refreshProviders()
      return [paused ? `${provider} is paused.` : `${provider} was paused by hand already; nothing changed.`]
    },
  })
}

// The confirmation dialog: bulk actions and pauses show what they will do, then what they did.

function openDialog({ title, summary, reason = false, confirmLabel, run }) {
  $('dialog-title').textContent = title
  $('dialog-summary').replaceChildren(...summary.map((line) => el('p', {}, line)))
  $('dialog-reason-label').hidden = !reason
  $('dialog-reason').value = ''
  $('dialog-result').hidden = true
  $('dialog-result').replaceChildren()
  hideError('dialog-error')
  $('dialog-confirm').textContent = confirmLabel
  $('dialog-confirm').hidden = run === null
  $('dialog-close').textContent = run === null ? 'Close' : 'Cancel'
  state.dialogAction = run
  if (!$('confirm-dialog').open) $('confirm-dialog').showModal()
  ;(reason ? $('dialog-reason') : run ? $('dialog-confirm') : $('dialog-close')).focus()
}

async function confirmDialog() {
  const run = state.dialogAction
  if (!run) return
  $('dialog-confirm').disabled = true
  hideError('dialog-error')
  try {
    const lines = await run()
    state.dialogAction = null
    $('dialog-confirm').hidden = true
    $('dialog-close').textContent = 'Close'
    $('dialog-result').replaceChildren(...lines.map((line) => el('p', {}, line)))
    $('dialog-result').hidden = false
    $('dialog-close').focus()
  } catch (error) {
    showError('dialog-error', error)
  } finally {
    $('dialog-confirm').disabled = false
  }
}

// Charts.

const cssColor = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim()

function makeCharts() {
  if (typeof window.uPlot !== 'function') throw new Error('the chart library did not load')
  const { uPlot } = window
  const color = (name) => cssColor(name)
  const axis = { stroke: color('--text'), grid: { stroke: color('--grid'), width: 1 }, ticks: { stroke: color('--grid'), width: 1 } }
  const make = (name, series, axes = [axis, axis], scales = {}) => {
    const element = $(`${name}-chart`)
    const options = {
      width: Math.max(element.clientWidth, 260),
      height: 200,
      series: [{}, ...series.map((entry) => ({ spanGaps: false, width: 2, ...entry }))],
      axes,
      scales,
      cursor: { drag: { x: false, y: false } },
    }
    const chart = new uPlot(options, [[], ...series.map(() => [])], element)
    chart.ctx.canvas.setAttribute('data-testid', `chart-${name}`)
    state.charts[name] = chart
  }
  make('throughput', [
    { label: 'accepted', stroke: color('--series-accepted') },
    { label: 'sent', stroke: color('--series-sent') },
    { label: 'dead', stroke: color('--series-dead') },
    { label: 'expired', stroke: color('--series-expired') },
    { label: 'undelivered', stroke: color('--series-undelivered'), dash: [6, 4] },
  ])
  make(
    'queue',
    [
      { label: 'queued', stroke: color('--series-accepted'), scale: 'count', points: { show: true } },
      { label: 'due', stroke: color('--series-expired'), scale: 'count', points: { show: true } },
      { label: 'oldest due (s)', stroke: color('--series-dead'), scale: 's', points: { show: true } },
    ],
    [axis, { ...axis, scale: 'count' }, { ...axis, scale: 's', side: 1, grid: { show: false } }],
  )
  // Buckets without data are gaps: points keep a lone bucket visible.
  make('latency', [
    { label: 'p50 ms', stroke: color('--series-sent'), points: { show: true } },
    { label: 'p99 ms', stroke: color('--series-dead'), points: { show: true } },
  ])
  const resize = new ResizeObserver(() => {
    for (const [name, chart] of Object.entries(state.charts)) {
      const width = Math.max($(`${name}-chart`).clientWidth, 260)
      if (chart && chart.width !== width) chart.setSize({ width, height: 200 })
    }
  })
  for (const name of Object.keys(state.charts)) resize.observe($(`${name}-figure`))
}

/** Fills a chart's data table: a row per bucket, a column per series. */
function fillTable(id, columns, rows) {
  const head = el('tr', {}, ...columns.map((column) => el('th', { scope: 'col' }, column)))
  $(id).replaceChildren(
    el('thead', {}, head),
    el('tbody', {}, ...rows.map((cells) => el('tr', {}, ...cells.map((cell) => el('td', {}, cell === null ? '–' : String(cell)))))),
  )
}

const seconds = (iso) => new Date(iso).getTime() / 1000

async function refreshSeriesCharts({ force = false } = {}) {
  const now = Date.now()
  if (state.range === 'week' && !force && now - state.live.weekLoadedAt < WEEK_REFRESH_MS) return
  const range = state.range
  const [throughput, latency] = await Promise.all([
    api(`/v1/admin/charts/throughput?range=${range}`),
    api(`/v1/admin/charts/latency?range=${range}`),
  ])
  if (range !== state.range) return
  if (range === 'week') state.live.weekLoadedAt = now
  const times = throughput.at.map(seconds)
  state.charts.throughput?.setData([times, throughput.accepted, throughput.sent, throughput.dead, throughput.expired, throughput.undelivered])
  fillTable(
    'throughput-data',
    ['Bucket', 'Accepted', 'Sent', 'Dead', 'Expired', 'Undelivered'],
    throughput.at.map((at, i) => [
      formatBucket(at),
      throughput.accepted[i],
      throughput.sent[i],
      throughput.dead[i],
      throughput.expired[i],
      throughput.undelivered[i],
    ]),
  )
  $('throughput-data').dataset.range = range
  state.charts.latency?.setData([latency.at.map(seconds), latency.p50, latency.p99])
  fillTable(
    'latency-data',
    ['Bucket', 'p50 ms', 'p99 ms'],
    latency.at.map((at, i) => [formatBucket(at), latency.p50[i], latency.p99[i]]),
  )
}

async function refreshQueueChart() {
  const range = state.range
  const queue = await api(`/v1/admin/charts/queue?range=${range}`)
  if (range !== state.range) return
  // The readings workers took, one a minute, and the queue as it is now.
  const { now } = queue
  const oldestNow = Math.round(now.oldestDueAgeSeconds)
  state.charts.queue?.setData([
    [...queue.at.map(seconds), seconds(now.at)],
    [...queue.queued, now.queued],
    [...queue.due, now.due],
    [...queue.oldestDueSeconds, oldestNow],
  ])
  fillTable(
    'queue-data',
    ['Bucket', 'Queued', 'Due', 'Oldest due (s)'],
    [
      ['now', now.queued, now.due, oldestNow],
      ...queue.at.map((at, i) => [formatBucket(at), queue.queued[i], queue.due[i], queue.oldestDueSeconds[i]]).reverse(),
    ],
  )
}

// The list.

/** The filter form as a query string; throws on a date the browser could not read. */
function readFilter() {
  const query = new URLSearchParams()
  const fields = { q: 'search', status: 'filter-status', to: 'filter-to', errorCode: 'filter-error-code' }
  for (const [name, id] of Object.entries(fields)) {
    const value = $(id).value.trim()
    if (value) query.set(name, value)
  }
  for (const [name, id] of Object.entries({ since: 'filter-since', until: 'filter-until' })) {
    const value = $(id).value
    if (!value) continue
    // datetime-local has no zone: it is the admin's local time, sent as UTC.
    const date = new Date(value)
    if (Number.isNaN(date.getTime())) throw new Error(`${name}: not a date and time`)
    query.set(name, date.toISOString())
  }
  return query
}

async function loadMessages({ more = false } = {}) {
  const generation = more ? state.listGeneration : ++state.listGeneration
  const query = new URLSearchParams(state.query)
  query.set('limit', String(PAGE_SIZE))
  if (more) query.set('cursor', state.cursor)
  else {
    // The old list's cursor and selection mean nothing under a new filter.
    $('load-more').hidden = true
    clearSelection()
  }
  hideError('list-error')
  $('load-more').disabled = true
  try {
    const page = await api(`/v1/admin/messages?${query}`)
    if (generation !== state.listGeneration) return
    if (!more) state.rows.clear()
    for (const message of page.messages) state.rows.set(message.id, message)
    const rows = page.messages.map(messageRow)
    if (more) $('message-rows').append(...rows)
    else $('message-rows').replaceChildren(...rows)
    state.cursor = page.nextCursor
    $('load-more').hidden = page.nextCursor === null
    $('list-empty').hidden = state.rows.size > 0
    renderSelection()
  } catch (error) {
    if (generation === state.listGeneration) showError('list-error', error)
  } finally {
    if (generation === state.listGeneration) $('load-more').disabled = false
  }
}

/**
 * Rereads the rows on show (up to MAX_PAGE) under the same filter and redraws them in
 * place: new messages appear on top, changed ones change, ones the filter no longer
 * matches go. Ticks, focus, the open detail and the scroll position stay.
 */
async function refreshMessages() {
  const generation = state.listGeneration
  const shown = state.rows.size
  const query = new URLSearchParams(state.query)
  query.set('limit', String(Math.min(Math.max(shown, PAGE_SIZE), MAX_PAGE)))
  const page = await api(`/v1/admin/messages?${query}`)
  if (generation !== state.listGeneration) return
  const focusedId = document.activeElement?.closest?.('#message-rows tr[data-id]')?.dataset.id
  const focusedCheckbox = document.activeElement?.matches?.('#message-rows input[type=checkbox]')
  const refreshed = new Map(page.messages.map((message) => [message.id, message]))
  // Rows past the reread window (loaded with "Load more") stay as they were.
  const beyond = shown > MAX_PAGE ? [...state.rows.values()].slice(MAX_PAGE).filter((m) => !refreshed.has(m.id)) : []
  state.rows = new Map([...refreshed, ...beyond.map((message) => [message.id, message])])
  if (beyond.length === 0) {
    state.cursor = page.nextCursor
    $('load-more').hidden = page.nextCursor === null
  }
  for (const id of [...state.selected]) if (!state.rows.has(id) && !state.allMatching) state.selected.delete(id)
  reconcile($('message-rows'), [...state.rows.values()].map(messageRow))
  $('list-empty').hidden = state.rows.size > 0
  // A changed row is a new element: focus moves to it.
  if (focusedId && !$('message-rows').contains(document.activeElement)) {
    const row = rowOf(focusedId)
    ;(focusedCheckbox ? row?.querySelector('input[type=checkbox]') : row)?.focus({ preventScroll: true })
  }
  renderSelection()
}

function rowOf(id) {
  return $('message-rows').querySelector(`tr[data-id="${CSS.escape(id)}"]`)
}

function messageRow(message) {
  const checked = state.allMatching !== null || state.selected.has(message.id)
  const checkbox = el('input', {
    type: 'checkbox',
    'data-testid': 'row-select',
    'aria-label': `Select the message of ${formatTime(message.createdAt)} to ${message.to ?? 'an erased number'}`,
    checked,
    disabled: state.allMatching !== null,
  })
  const row = el(
    'tr',
    {
      tabindex: '0',
      'data-id': message.id,
      'data-key': message.id,
      'data-signature': JSON.stringify(message),
      'data-testid': 'message-row',
      'aria-selected': String(checked),
    },
    el('td', { class: 'select' }, checkbox),
    el('td', { class: 'nowrap' }, formatTime(message.createdAt)),
    el('td', { class: `status status-${message.status}`, 'data-testid': 'row-status' }, message.status),
    el('td', { class: 'nowrap', 'data-testid': 'row-to' }, message.to ?? '(erased)'),
    el('td', { class: 'preview', 'data-testid': 'row-text' }, message.textPreview ?? '(erased)'),
    el('td', { 'data-testid': 'row-attempts' }, String(message.attempts)),
    el('td', { 'data-testid': 'row-error-code' }, message.lastErrorCode ?? ''),
    el('td', { class: 'error-text' }, message.lastError ?? ''),
  )
  if (message.id === state.openId) row.classList.add('open')
  return row
}

/** Redraws one row from its summary, merged with `changes`. */
function updateRow(id, changes) {
  const message = state.rows.get(id)
  const row = rowOf(id)
  if (!message || !row) return
  const updated = { ...message, ...changes }
  state.rows.set(id, updated)
  const hadFocus = row.contains(document.activeElement)
  const replacement = messageRow(updated)
  row.replaceWith(replacement)
  if (hadFocus) replacement.focus({ preventScroll: true })
}

// Selection and bulk actions.

function clearSelection() {
  state.selected.clear()
  state.allMatching = null
  for (const box of $('message-rows').querySelectorAll('input[type=checkbox]')) {
    box.checked = false
    box.disabled = false
  }
  renderSelection()
}

function renderSelection() {
  const shown = state.rows.size
  const all = state.allMatching
  const count = all ? all.count : state.selected.size
  $('selection-count').textContent = all
    ? `All ${plural(all.count, 'message')} that match this filter are selected`
    : count === 0
      ? 'None selected'
      : `${count} selected`
  const pageSelected = shown > 0 && [...state.rows.keys()].every((id) => state.selected.has(id))
  $('select-page').checked = all !== null || pageSelected
  $('select-page').indeterminate = all === null && !pageSelected && state.selected.size > 0
  $('select-page').disabled = all !== null
  $('select-all-matching').hidden = all !== null || !pageSelected
  $('clear-selection').hidden = count === 0
  $('bulk-retry').disabled = count === 0
  $('bulk-cancel').disabled = count === 0
  for (const row of $('message-rows').querySelectorAll('tr[data-id]')) {
    const box = row.querySelector('input[type=checkbox]')
    const checked = all !== null || state.selected.has(row.dataset.id)
    box.checked = checked
    box.disabled = all !== null
    row.setAttribute('aria-selected', String(checked))
  }
}

async function selectAllMatching() {
  hideError('list-error')
  try {
    const query = new URLSearchParams(state.query)
    const { count } = await api(`/v1/admin/messages/count?${query}`)
    state.allMatching = { count, query }
    renderSelection()
    $('clear-selection').focus()
  } catch (error) {
    showError('list-error', error)
  }
}

/** The selection as a bulk request's scope: the filter (all matching) or the ticked ids. */
function bulkScope(kind) {
  const all = state.allMatching
  if (!all) return { ids: [...state.selected] }
  const scope = {}
  for (const name of ['q', 'to', 'errorCode', 'since', 'until']) {
    const value = all.query.get(name)
    if (value) scope[name] = value
  }
  const statuses = all.query.get('status')?.split(',') ?? STATUSES
  // Retry takes dead and expired only, cancel pending only; the server keeps to the rest.
  const wanted = kind === 'retry' ? statuses.filter((status) => RETRYABLE.includes(status)) : statuses
  if (wanted.length === 0) return null
  scope.status = wanted
  return scope
}

function describe(outcome) {
  const statuses = Object.entries(outcome.byStatus).map(([status, count]) => `${status} ${count}`).join(', ')
  const codes = outcome.byErrorCode.map(({ errorCode, count }) => `${errorCode} × ${count}`).join(', ')
  return [`By status: ${statuses || 'none'}.`, `By error code: ${codes || 'none'}.`]
}

async function bulk(kind) {
  const verb = kind === 'retry' ? 'Retry' : 'Cancel'
  const path = kind === 'retry' ? '/v1/admin/messages/retry' : '/v1/admin/messages/cancel'
  const which = kind === 'retry' ? 'dead or expired' : 'pending'
  const scope = bulkScope(kind)
  if (scope === null) {
    openDialog({ title: `${verb} messages`, summary: [`This filter shows no ${which} message: nothing to ${kind}.`], run: null })
    return
  }
  let preview
  try {
    preview = await api(path, { method: 'POST', body: { ...scope, dryRun: true } })
  } catch (error) {
    showError('list-error', error)
    return
  }
  const selected = state.allMatching ? state.allMatching.count : state.selected.size
  const skipped = selected - preview.matched
  const lines = [
    `${verb} ${plural(preview.matched, 'message')}?`,
    ...(preview.matched > 0 ? describe(preview) : []),
    ...(skipped > 0 ? [`${skipped} of the ${selected} selected are not ${which} (or are erased or suppressed) and stay as they are.`] : []),
  ]
  if (preview.matched === 0) {
    openDialog({ title: `${verb} messages`, summary: [`None of the ${selected} selected is ${which}: nothing to ${kind}.`], run: null })
    return
  }
  openDialog({
    title: `${verb} messages`,
    summary: lines,
    confirmLabel: `${verb} ${plural(preview.matched, 'message')}`,
    run: async () => {
      const outcome = await api(path, { method: 'POST', body: { ...scope, dryRun: false } })
      const done = kind === 'retry' ? outcome.retried : outcome.canceled
      clearSelection()
      await refreshAll()
      return [
        `${kind === 'retry' ? 'Retried' : 'Canceled'} ${plural(done, 'message')}` +
          (done < preview.matched ? ` (${preview.matched - done} changed meanwhile and were left alone).` : '.'),
        ...describe(outcome),
      ]
    },
  })
}

// The detail panel: the one place the full number is shown.

async function openDetail(id) {
  if (state.openId !== id) clearDetail()
  state.openId = id
  for (const row of $('message-rows').querySelectorAll('tr.open')) row.classList.remove('open')
  rowOf(id)?.classList.add('open')
  $('detail-id').textContent = id
  $('detail').hidden = false
  hideError('detail-error')
  await loadDetail(id)
}

async function loadDetail(id) {
  const generation = ++state.detailGeneration
  try {
    const message = await api(`/v1/admin/messages/${encodeURIComponent(id)}`)
    if (generation !== state.detailGeneration) return
    renderDetail(message)
    // The row keeps its masked number; everything else follows the detail.
    updateRow(id, {
      status: message.status,
      attempts: message.attemptCount,
      lastErrorCode: message.lastErrorCode,
      lastError: message.lastError,
    })
  } catch (error) {
    if (generation === state.detailGeneration) showError('detail-error', error)
  }
}

function renderDetail(message) {
  const fields = [
    ['Status', message.status, 'detail-status'],
    ['To', message.to ?? '(erased)', 'detail-to'],
    ['Type', `${message.type}, ${message.bytes} bytes`],
    ['Created', formatTime(message.createdAt)],
    ['Updated', formatTime(message.updatedAt)],
    ['Next attempt', formatTime(message.nextAttemptAt)],
    ['Expires', formatTime(message.expiresAt)],
    ['Sent', formatTime(message.sentAt)],
    ['Attempts', `${message.attemptCount} (up to ${message.maxRetries} retries)`],
    ['Provider', message.provider ?? ''],
    ['Provider message id', message.providerMessageId ?? ''],
    [
      'Delivery',
      [message.delivery.status, message.delivery.errorCode, formatTime(message.delivery.at)].filter(Boolean).join(', '),
      'detail-delivery',
    ],
    ['Last error', [message.lastErrorCode, message.lastError].filter(Boolean).join(': ')],
    ['Erased', formatTime(message.erasedAt)],
    ['Metadata', message.metadata === null ? '' : JSON.stringify(message.metadata)],
  ]
  $('detail-fields').replaceChildren(
    ...fields.flatMap(([label, value, testid]) => [el('dt', {}, label), el('dd', testid ? { 'data-testid': testid } : {}, value)]),
  )
  $('detail-text').textContent = message.text ?? '(erased)'
  const nothing = (columns, text) => el('tr', {}, el('td', { colspan: String(columns), class: 'none' }, text))
  $('detail-attempts').replaceChildren(
    ...(message.attempts.length === 0 ? [nothing(7, 'not sent yet')] : []),
    ...message.attempts.map((attempt) =>
      el(
        'tr',
        { 'data-testid': 'attempt-row' },
        el('td', {}, String(attempt.attempt)),
        el('td', {}, formatTime(attempt.startedAt)),
        el('td', {}, attempt.outcome ?? 'in flight'),
        el('td', {}, attempt.errorCode ?? ''),
        el('td', { class: 'error-text' }, attempt.errorMessage ?? ''),
        el('td', {}, attempt.httpStatus === null ? '' : String(attempt.httpStatus)),
        el('td', {}, attempt.latencyMs === null ? '' : `${attempt.latencyMs} ms`),
      ),
    ),
  )
  $('detail-actions').replaceChildren(
    ...(message.actions.length === 0 ? [el('li', { class: 'none' }, 'none')] : []),
    ...message.actions.map((action) =>
      el(
        'li',
        { 'data-testid': 'admin-action' },
        `${formatTime(action.at)} ${action.actor}: ${action.action}` +
          (action.detail === null ? '' : ` ${JSON.stringify(action.detail)}`),
      ),
    ),
  )
  $('detail-retry').disabled = !['dead', 'expired'].includes(message.status) || message.erasedAt !== null
  $('detail-cancel').disabled = message.status !== 'pending'
}

function clearDetail() {
  ++state.detailGeneration
  $('detail-retry').disabled = true
  $('detail-cancel').disabled = true
  for (const id of ['detail-id', 'detail-fields', 'detail-text', 'detail-attempts', 'detail-actions']) {
    $(id).replaceChildren()
  }
}

function closeDetail() {
  const id = state.openId
  clearDetail()
  state.openId = null
  $('detail').hidden = true
  for (const row of $('message-rows').querySelectorAll('tr.open')) row.classList.remove('open')
  if (id) rowOf(id)?.focus()
}

async function act(action) {
  const id = state.openId
  if (!id) return
  $('detail-retry').disabled = true
  $('detail-cancel').disabled = true
  hideError('detail-error')
  try {
    const { message } = await api(`/v1/admin/messages/${encodeURIComponent(id)}/${action}`, { method: 'POST' })
    updateRow(id, message)
  } catch (error) {
    // Most likely a 409: the message changed meanwhile. The reload below shows how.
    showError('detail-error', error)
  }
  await Promise.all([loadDetail(id), refreshCounts().catch((error) => showError('page-error', error))])
}

// The suppression list. Rows show the masked number; Remove names the entry by its id.

async function loadSuppressions({ more = false } = {}) {
  const list = state.suppressions
  const generation = more ? list.generation : ++list.generation
  const query = new URLSearchParams(list.query)
  query.set('limit', String(PAGE_SIZE))
  if (more) query.set('cursor', list.cursor)
  else $('suppressions-more').hidden = true
  hideError('suppression-error')
  $('suppressions-more').disabled = true
  try {
    const page = await api(`/v1/admin/suppressions?${query}`)
    if (generation !== list.generation) return
    const rows = page.suppressions.map(suppressionRow)
    if (more) $('suppression-rows').append(...rows)
    else $('suppression-rows').replaceChildren(...rows)
    list.cursor = page.nextCursor
    $('suppressions-more').hidden = page.nextCursor === null
    $('suppressions-empty').hidden = $('suppression-rows').children.length > 0
  } catch (error) {
    if (generation === list.generation) showError('suppression-error', error)
  } finally {
    if (generation === list.generation) $('suppressions-more').disabled = false
  }
}

function suppressionRow(entry) {
  const remove = el('button', { type: 'button', 'data-testid': 'unsuppress', 'aria-label': `Remove ${entry.to} from the list` }, 'Remove')
  const row = el(
    'tr',
    { 'data-suppression-id': entry.id, 'data-testid': 'suppression-row' },
    el('td', { class: 'nowrap' }, formatTime(entry.createdAt)),
    el('td', { class: 'nowrap', 'data-testid': 'suppression-to' }, entry.to),
    el('td', { 'data-testid': 'suppression-reason' }, entry.reason),
    el('td', {}, entry.errorCode ?? 'added by an admin'),
    el('td', {}, entry.provider ?? ''),
    el('td', {}, remove),
  )
  remove.addEventListener('click', async () => {
    remove.disabled = true
    hideError('suppression-error')
    try {
      await api('/v1/admin/suppressions/remove', { method: 'POST', body: { id: entry.id } })
      // Removed, or by someone else already: either way it is off the list.
      row.remove()
      $('suppressions-empty').hidden = $('suppression-rows').children.length > 0
    } catch (error) {
      remove.disabled = false
      showError('suppression-error', error)
    }
  })
  return row
}

/** Puts a number on the list; the answer says how many of its pending messages it canceled. */
async function suppress(to) {
  $('suppress-number').disabled = true
  $('suppress-result').hidden = true
  hideError('suppression-error')
  try {
    const result = await api('/v1/admin/suppressions', { method: 'POST', body: { to } })
    const canceled = `${result.canceledPending} pending ${result.canceledPending === 1 ? 'message' : 'messages'} canceled`
    const listed = result.created ? `Suppressed ${result.suppression.to}` : `${result.suppression.to} was already suppressed`
    $('suppress-result').textContent = `${listed}; ${canceled}.`
    $('suppress-result').hidden = false
    $('suppress-to').value = ''
    await Promise.all([loadSuppressions(), refreshAll()])
  } catch (error) {
    showError('suppression-error', error)
  } finally {
    $('suppress-number').disabled = false
  }
}

// Live updates: everything on show is reread every REFRESH_MS, unless paused.

async function refreshAll() {
  if (state.live.refreshing) return
  state.live.refreshing = true
  try {
    const results = await Promise.allSettled([
      refreshCounts(),
      refreshProviders(),
      refreshSeriesCharts(),
      refreshQueueChart(),
      refreshMessages(),
      ...(state.openId && !$('detail').hidden ? [loadDetail(state.openId)] : []),
    ])
    const failed = results.find((result) => result.status === 'rejected')
    if (failed) showError('page-error', failed.reason)
    else {
      hideError('page-error')
      state.live.lastUpdated = Date.now()
    }
  } finally {
    state.live.refreshing = false
    renderLastUpdated()
  }
}

function renderLastUpdated() {
  const { lastUpdated, paused } = state.live
  const age = lastUpdated === null ? null : Math.max(0, Math.round((Date.now() - lastUpdated) / 1000))
  const updated = age === null ? 'not updated yet' : `updated ${age} s ago`
  $('last-updated').textContent = paused ? `${updated}, live updates paused` : updated
  $('last-updated').dataset.updatedAt = lastUpdated === null ? '' : String(lastUpdated)
}

function scheduleRefresh() {
  clearTimeout(state.live.timer)
  if (state.live.paused) return
  state.live.timer = setTimeout(async () => {
    // A hidden tab does not poll; it catches up when shown.
    if (!document.hidden) await refreshAll()
    scheduleRefresh()
  }, REFRESH_MS)
}

function toggleLive() {
  state.live.paused = !state.live.paused
  $('live-toggle').textContent = state.live.paused ? 'Resume updates' : 'Pause updates'
  $('live-toggle').setAttribute('aria-pressed', String(state.live.paused))
  renderLastUpdated()
  if (!state.live.paused) refreshAll().finally(scheduleRefresh)
  else clearTimeout(state.live.timer)
}

// Wiring.

$('filters').addEventListener('submit', (event) => {
  event.preventDefault()
  hideError('list-error')
  try {
    state.query = readFilter()
  } catch (error) {
    showError('list-error', error)
    return
  }
  loadMessages()
})
$('load-more').addEventListener('click', () => loadMessages({ more: true }))
$('suppression-filter').addEventListener('submit', (event) => {
  event.preventDefault()
  const to = $('suppression-to').value.trim()
  state.suppressions.query = new URLSearchParams(to ? { to } : {})
  loadSuppressions()
})
$('suppressions-more').addEventListener('click', () => loadSuppressions({ more: true }))
$('suppress-form').addEventListener('submit', (event) => {
  event.preventDefault()
  suppress($('suppress-to').value.trim())
})

$('message-rows').addEventListener('change', (event) => {
  const row = event.target.closest('tr[data-id]')
  if (!row || !event.target.matches('input[type=checkbox]')) return
  if (event.target.checked) state.selected.add(row.dataset.id)
  else state.selected.delete(row.dataset.id)
  renderSelection()
})
$('message-rows').addEventListener('click', (event) => {
  if (event.target.closest('td.select')) return
  const row = event.target.closest('tr[data-id]')
  if (row) openDetail(row.dataset.id)
})
$('message-rows').addEventListener('keydown', (event) => {
  const row = event.target.closest('tr[data-id]')
  if (!row || event.target !== row) return
  if (event.key === 'Enter') {
    event.preventDefault()
    openDetail(row.dataset.id)
  } else if (event.key === ' ') {
    event.preventDefault()
    row.querySelector('input[type=checkbox]')?.click()
  } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    event.preventDefault()
    ;(event.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling)?.focus()
  }
})
$('select-page').addEventListener('change', () => {
  for (const id of state.rows.keys()) {
    if ($('select-page').checked) state.selected.add(id)
    else state.selected.delete(id)
  }
  renderSelection()
})
$('select-all-matching').addEventListener('click', selectAllMatching)
$('clear-selection').addEventListener('click', () => {
  clearSelection()
  $('select-page').focus()
})
$('bulk-retry').addEventListener('click', () => bulk('retry'))
$('bulk-cancel').addEventListener('click', () => bulk('cancel'))
$('dialog-form').addEventListener('submit', (event) => {
  if (event.submitter?.value === 'confirm') {
    event.preventDefault()
    confirmDialog()
  }
})
$('confirm-dialog').addEventListener('close', () => {
  state.dialogAction = null
})
$('detail-retry').addEventListener('click', () => act('retry'))
$('detail-cancel').addEventListener('click', () => act('cancel'))
$('detail-close').addEventListener('click', closeDetail)
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && state.openId && !$('confirm-dialog').open) closeDetail()
})
for (const radio of document.querySelectorAll('#chart-range input[name=range]')) {
  radio.addEventListener('change', () => {
    state.range = radio.value
    Promise.all([refreshSeriesCharts({ force: true }), refreshQueueChart()]).catch((error) => showError('page-error', error))
  })
}
$('live-toggle').addEventListener('click', toggleLive)
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && !state.live.paused) refreshAll()
})
setInterval(renderLastUpdated, 1_000)

state.query = readFilter()
try {
  makeCharts()
} catch (error) {
  showError('page-error', error)
}
loadMessages()
loadSuppressions()
refreshAll().finally(scheduleRefresh)
