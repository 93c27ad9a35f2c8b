// The admin page: plain DOM over the admin JSON API (/v1/admin/*), authenticated by the
// session cookie the login form set. Data is written only as text (textContent, append
// of strings), never as HTML, so nothing a caller put in a message can run here.

const ACTOR = 'admin-page'
const STATUSES = ['pending', 'sending', 'sent', 'dead', 'expired', 'canceled']
const PAGE_SIZE = 50

const $ = (id) => document.getElementById(id)

const state = {
  /** The applied filter, as the list route's query string. */
  query: new URLSearchParams(),
  cursor: null,
  /** Summaries shown in the table, by id; the `to` in them is masked. */
  rows: new Map(),
  openId: null,
  // Bumped by every new list or detail request, so a slow answer to an older one is
  // dropped instead of overwriting a newer one.
  listGeneration: 0,
  detailGeneration: 0,
  /** The suppression list: its applied `to` filter, cursor and request generation. */
  suppressions: { query: new URLSearchParams(), cursor: null, generation: 0 },
}

class ApiError extends Error {}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { accept: 'application/json' }
  if (method !== 'GET') headers['x-admin-actor'] = ACTOR
  if (body !== undefined) headers['content-type'] = 'application/json'
  let response
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
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
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value)
  node.append(...children.map((child) => child ?? ''))
  return node
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

/** Local time, to the second: 2026-11-29 18:49:16. */
function formatTime(iso) {
  if (!iso) return ''
  const date = new Date(iso)
  const pad = (n) => String(n).padStart(2, '0')
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
}

// Header: counts and provider state.

async function refreshHeader() {
  try {
    const [stats, providers] = await Promise.all([api('/v1/admin/stats'), api('/v1/admin/providers')])
    $('status-counts').replaceChildren(
      ...STATUSES.map((status) =>
        el('li', { class: status, 'data-testid': `count-${status}` }, `${status} ${stats.byStatus[status] ?? 0}`),
      ),
    )
    $('status-counts').title = stats.prunedBefore
      ? `Sent, dead, expired and canceled count the messages changed since ${formatTime(stats.prunedBefore)}; older ones were pruned.`
      : ''
    $('active-provider').textContent = providers.active ?? 'none in this process (ROLE=api)'
    $('providers-ok').hidden = providers.paused.length > 0
    $('paused-providers').replaceChildren(...providers.paused.map(pausedProvider))
  } catch (error) {
    showError('page-error', error)
  }
}

function pausedProvider(pause) {
  const resume = el('button', { type: 'button', 'data-testid': `resume-${pause.provider}` }, 'Resume')
  resume.addEventListener('click', async () => {
    resume.disabled = true
    hideError('page-error')
    try {
      await api(`/v1/admin/providers/${encodeURIComponent(pause.provider)}/resume`, { method: 'POST' })
    } catch (error) {
      showError('page-error', error)
    }
    await refreshHeader()
  })
  return el(
    'li',
    { 'data-testid': `paused-${pause.provider}` },
    `${pause.provider} paused since ${formatTime(pause.pausedAt)} (${pause.errorCode}: ${pause.reason}); ` +
      `next probe ${formatTime(pause.nextProbeAt)}, ${pause.probes} so far`,
    resume,
  )
}

// The list.

/** The filter form as a query string; throws on a date the browser could not read. */
function readFilter() {
  const query = new URLSearchParams()
  const fields = { status: 'filter-status', to: 'filter-to', errorCode: 'filter-error-code' }
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
  // The old list's cursor means nothing under a new filter.
  else $('load-more').hidden = true
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
  } catch (error) {
    if (generation === state.listGeneration) showError('list-error', error)
  } finally {
    if (generation === state.listGeneration) $('load-more').disabled = false
  }
}

function messageRow(message) {
  const row = el(
    'tr',
    { tabindex: '0', 'data-id': message.id, 'data-testid': 'message-row' },
    el('td', { class: 'nowrap' }, formatTime(message.createdAt)),
    el('td', { class: `status status-${message.status}`, 'data-testid': 'row-status' }, message.status),
    el('td', { class: 'nowrap', 'data-testid': 'row-to' }, message.to ?? '(erased)'),
    el('td', {}, message.type),
    el('td', { 'data-testid': 'row-attempts' }, String(message.attempts)),
    el('td', { 'data-testid': 'row-error-code' }, message.lastErrorCode ?? ''),
    el('td', { class: 'error-text' }, message.lastError ?? ''),
  )
  if (message.id === state.openId) row.classList.add('selected')
  return row
}

/** Redraws one row from its summary, merged with `changes`. */
function updateRow(id, changes) {
  const message = state.rows.get(id)
  const row = $('message-rows').querySelector(`tr[data-id="${CSS.escape(id)}"]`)
  if (!message || !row) return
  const updated = { ...message, ...changes }
  state.rows.set(id, updated)
  row.replaceWith(messageRow(updated))
}

// The detail panel: the one place the full number is shown.

async function openDetail(id) {
  if (state.openId !== id) clearDetail()
  state.openId = id
  for (const row of $('message-rows').querySelectorAll('tr.selected')) row.classList.remove('selected')
  $('message-rows').querySelector(`tr[data-id="${CSS.escape(id)}"]`)?.classList.add('selected')
  $('detail-id').textContent = id
  $('detail').hidden = false
  hideError('detail-error')
  await loadDetail(id)
}

async function loadDetail(id) {
  const generation = ++state.detailGeneration
  $('detail-retry').disabled = true
  $('detail-cancel').disabled = true
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
  for (const id of ['detail-id', 'detail-fields', 'detail-text', 'detail-attempts', 'detail-actions']) {
    $(id).replaceChildren()
  }
}

function closeDetail() {
  clearDetail()
  state.openId = null
  $('detail').hidden = true
  for (const row of $('message-rows').querySelectorAll('tr.selected')) row.classList.remove('selected')
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
  await Promise.all([loadDetail(id), refreshHeader()])
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
  const remove = el('button', { type: 'button', 'data-testid': 'unsuppress' }, 'Remove')
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
    await Promise.all([loadSuppressions(), loadMessages(), refreshHeader()])
  } catch (error) {
    showError('suppression-error', error)
  } finally {
    $('suppress-number').disabled = false
  }
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
  refreshHeader()
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
$('message-rows').addEventListener('click', (event) => {
  const row = event.target.closest('tr[data-id]')
  if (row) openDetail(row.dataset.id)
})
$('message-rows').addEventListener('keydown', (event) => {
  const row = event.target.closest('tr[data-id]')
  if (row && (event.key === 'Enter' || event.key === ' ')) {
    event.preventDefault()
    openDetail(row.dataset.id)
  }
})
$('detail-retry').addEventListener('click', () => act('retry'))
$('detail-cancel').addEventListener('click', () => act('cancel'))
$('detail-close').addEventListener('click', closeDetail)
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && state.openId) closeDetail()
})

state.query = readFilter()
refreshHeader()
loadMessages()
loadSuppressions()
