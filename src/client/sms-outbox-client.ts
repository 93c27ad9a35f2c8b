// A typed client for the REST API, for Node 20+ (global fetch). Its request and answer types
// are the route schemas' own (`Static<typeof …Schema>`), imported as types only: a schema
// change breaks the build of this file and of its callers, not their requests at run time,
// and loading the client loads neither Fastify nor the schemas (its one runtime dependency
// is p-retry). Only erasable TypeScript here (no enums, no parameter properties), so the
// file also runs under Node's type stripping.
import pRetry, { AbortError } from 'p-retry'
import type { Static } from 'typebox'
import type { ActorHeadersSchema, AdminListQuerySchema, AdminMessageDetailSchema, BulkCancelRequestSchema, BulkCancelResultSchema, BulkRetryRequestSchema, BulkRetryResultSchema, MessageActionResultSchema, MessagePageSchema, ProviderParamsSchema, ProviderPauseResultSchema, ProviderResumeResultSchema, ProvidersSchema, StatsSchema } from '../http/admin-schemas.ts'
import type { MessageSummarySchema } from '../domain/message-schemas.ts'
import type { BatchAcceptedSchema, ErrorSchema, SuppressedErrorSchema } from '../http/message-schemas.ts'
import type { AcceptedMessageSchema, BatchRequestSchema, MessageDetailSchema, MessageRequestSchema, ResultReadyRequestSchema, Status } from '../domain/message-schemas.ts'

// ---------------------------------------------------------------------------------------
// Types, all from the route schemas

/** `POST /v1/messages` body. */
export type MessageRequest = Static<typeof MessageRequestSchema>
/** What `POST /v1/messages` and `POST /v1/notifications/result-ready` answer. */
export type AcceptedMessage = Static<typeof AcceptedMessageSchema>
/** One item of `POST /v1/messages/batch`: a message with an optional `idempotencyKey`. */
export type BatchMessageRequest = Static<typeof BatchRequestSchema>['messages'][number]
/** One result per batch item, in order. */
export type BatchMessageResult = Static<typeof BatchAcceptedSchema>['messages'][number]
/** `GET /v1/messages/:id`: the message with every attempt. */
export type MessageDetail = Static<typeof MessageDetailSchema>
/** `POST /v1/notifications/result-ready` body. */
export type ResultReadyRequest = Static<typeof ResultReadyRequestSchema>
export type MessageStatus = Static<typeof Status>
/** The API's error body: `{statusCode, code, error, message}`. */
export type ApiErrorBody = Static<typeof ErrorSchema>
export type SuppressionReason = Static<typeof SuppressedErrorSchema>['reason']

type AdminListQuery = Static<typeof AdminListQuerySchema>
/** `GET /v1/admin/messages` filters; `status` also as an array, `limit` defaults to 50 on the server. */
export type AdminListFilter = Omit<AdminListQuery, 'status' | 'limit' | 'cursor'> & {
  status?: AdminListQuery['status'] | readonly MessageStatus[]
  limit?: AdminListQuery['limit']
  cursor?: AdminListQuery['cursor']
}
export type MessagePage = Static<typeof MessagePageSchema>
export type MessageSummary = Static<typeof MessageSummarySchema>
export type AdminMessageDetail = Static<typeof AdminMessageDetailSchema>
export type MessageActionResult = Static<typeof MessageActionResultSchema>
/** `dryRun` is required on purpose: a mass redrive should say that it means it. */
export type BulkRetryRequest = Static<typeof BulkRetryRequestSchema>
export type BulkRetryResult = Static<typeof BulkRetryResultSchema>
export type BulkCancelRequest = Static<typeof BulkCancelRequestSchema>
export type BulkCancelResult = Static<typeof BulkCancelResultSchema>
export type ProviderPauseResult = Static<typeof ProviderPauseResultSchema>
export type ProvidersStatus = Static<typeof ProvidersSchema>
export type ProviderName = Static<typeof ProviderParamsSchema>['provider']
export type OutboxStats = Static<typeof StatsSchema>
export type ProviderResumeResult = Static<typeof ProviderResumeResultSchema>
type Actor = NonNullable<Static<typeof ActorHeadersSchema>['x-admin-actor']>

/** `send` and `notifyResultReady`: the accepted message, and whether this call created it. */
export type SendResult = AcceptedMessage & {
  /**
   * True when this call created the message (202). False when the key (or, for a result-ready
   * notification, the jobId) matched a message created earlier (200). With a generated key a
   * 200 can only come from an earlier attempt of this same call whose answer was lost, so it
   * counts as created.
   */
  created: boolean
}

// ---------------------------------------------------------------------------------------
// Options and errors

export interface SmsOutboxClientOptions {
  /** Where the service listens, e.g. `http://127.0.0.1:3000`; a path prefix is kept. */
  baseUrl: string | URL
  /** API_TOKEN, for `/v1/messages*` and `/v1/notifications/*` (when the server sets one). */
  apiToken?: string
  /** ADMIN_TOKEN, for `admin.*`. */
  adminToken?: string
  /** One attempt, answer body included. Default 10,000 ms. */
  timeoutMs?: number
  /** Retries after the first attempt, for 503, 429 and connection failures. Default 3. */
  retries?: number
  /** First backoff; it doubles per retry, with jitter (x1 to x2). Default 250 ms. */
  minRetryDelayMs?: number
  /** Cap of one wait, backoff and `Retry-After` alike. Default 10,000 ms. */
  maxRetryDelayMs?: number
  /** `x-admin-actor` of admin actions (recorded in admin_actions); the server's default is admin-api. */
  actor?: Actor
  /** A fetch of your own (tests, proxies, instrumentation). Default: the global fetch. */
  fetch?: typeof globalThis.fetch
}

export interface CallOptions {
  /** Aborts the call, retries and waits included; the call rejects with the signal's reason. */
  signal?: AbortSignal
}

export interface SendOptions extends CallOptions {
  /**
   * Sent as `Idempotency-Key`. Default: a new UUID, reused by every retry of this call, so a
   * retry after a lost answer cannot create a second message. Pass a key of your own (an
   * order id, say) to be safe across calls and processes too.
   */
  idempotencyKey?: string
}

export interface AdminActionOptions extends CallOptions {
  /** `x-admin-actor` for this action; default the client's `actor`. */
  actor?: Actor
}

/**
 * Every failure of a call: an error answer of the API (`statusCode`, `code` and `message` from
 * its `{statusCode, code, error, message}` body), or no usable answer at all (`statusCode`
 * undefined; `code` is the system's, e.g. `ECONNREFUSED`, or `TIMEOUT`). Thrown after the
 * retries, if any, were used up; `attempts` says how many calls were made.
 */
export class SmsOutboxError extends Error {
  override readonly name = 'SmsOutboxError'
  /** HTTP status; undefined when no answer arrived. */
  readonly statusCode: number | undefined
  /**
   * The API's code (`INVALID_MESSAGE`, `UNAUTHORIZED`, …); `HTTP_<status>` for an answer not from
   * the API (a proxy's 502); with no answer, the system's code (`ECONNREFUSED`, `UND_ERR_SOCKET`, …),
   * `TIMEOUT` or `REQUEST_FAILED`; `INVALID_RESPONSE` for a 2xx whose body is not JSON.
   */
  readonly code: string
  /** The API body's `error` (the status text). */
  readonly error: string | undefined
  /** With `RECIPIENT_SUPPRESSED` (422): why the number is on the suppression list. */
  readonly reason: SuppressionReason | undefined
  /** `x-request-id` of the answer, or the one this client sent (the server logs it as `reqId`). */
  readonly requestId: string | undefined
  /** Calls made, retries included. */
  readonly attempts: number
  /** The Idempotency-Key this call sent: reuse it to retry later without a duplicate. */
  readonly idempotencyKey: string | undefined
  /** The answer's `Retry-After`, in milliseconds. */
  readonly retryAfterMs: number | undefined
  /** The failure is transient (503, 429, connection, timeout): the same call may succeed later. */
  readonly retryable: boolean

  constructor(
    message: string,
    details: {
      statusCode?: number
      code: string
      error?: string
      reason?: SuppressionReason
      requestId?: string
      attempts: number
      idempotencyKey?: string
      retryAfterMs?: number
      retryable: boolean
      cause?: unknown
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.statusCode = details.statusCode
    this.code = details.code
    this.error = details.error
    this.reason = details.reason
    this.requestId = details.requestId
    this.attempts = details.attempts
    this.idempotencyKey = details.idempotencyKey
    this.retryAfterMs = details.retryAfterMs
    this.retryable = details.retryable
  }
}

// ---------------------------------------------------------------------------------------
// The client

/** The admin API (`/v1/admin/*`, ADMIN_TOKEN). */
export interface SmsOutboxAdmin {
  /** One page, newest first, numbers masked; pass `nextCursor` back as `cursor`. */
  list(filter?: AdminListFilter, options?: CallOptions): Promise<MessagePage>
  /** Every page from `filter.cursor` (or the first) on, following `nextCursor`. */
  pages(filter?: AdminListFilter, options?: CallOptions): AsyncGenerator<MessagePage, void, undefined>
  /** Every message of every page. */
  messages(filter?: AdminListFilter, options?: CallOptions): AsyncGenerator<MessageSummary, void, undefined>
  /** One message with its full number, every attempt and every admin action. */
  get(id: string, options?: CallOptions): Promise<AdminMessageDetail>
  /** Send a dead or expired message again with a fresh budget (`unchanged` if already pending). */
  retry(id: string, options?: AdminActionOptions): Promise<MessageActionResult>
  /** Cancel a pending message (`unchanged` if already canceled). */
  cancel(id: string, options?: AdminActionOptions): Promise<MessageActionResult>
  /**
   * Redrive every dead/expired message matching the filter; `dryRun: true` only counts.
   * An empty scope is refused (400): every one is `status: ['dead', 'expired']`.
   */
  bulkRetry(request: BulkRetryRequest, options?: AdminActionOptions): Promise<BulkRetryResult>
  /**
   * Cancel every pending message matching the filter or among `ids`; `dryRun: true` only
   * counts. An empty scope is refused (400): every one is `status: ['pending']`.
   */
  bulkCancel(request: BulkCancelRequest, options?: AdminActionOptions): Promise<BulkCancelResult>
  /** Which providers are paused, and why. */
  providers(options?: CallOptions): Promise<ProvidersStatus>
  /** Stop sending through a provider until resumed by an admin (no probes). */
  pauseProvider(provider: ProviderName, reason: string, options?: AdminActionOptions): Promise<ProviderPauseResult>
  /** End a provider pause now. */
  resumeProvider(provider: ProviderName, options?: AdminActionOptions): Promise<ProviderResumeResult>
  /** Counts per status, dead per error code, the last 24 hours by hour. */
  stats(options?: CallOptions): Promise<OutboxStats>
}

interface Call {
  method: 'GET' | 'POST'
  /** Relative to baseUrl, no leading slash. */
  path: string
  query?: Record<string, string>
  body?: unknown
  auth: 'api' | 'admin'
  headers?: Record<string, string>
  idempotencyKey?: string
  /**
   * The call may be repeated after a failure that may have been processed (reset, timeout,
   * 502/504): the server deduplicates it, or it only reads. Otherwise only failures that
   * surely were not processed (refused connection, 503, 429) are retried.
   */
  replaySafe: boolean
  signal?: AbortSignal
}

interface Answer<T> {
  status: number
  body: T
}

/** How a failed attempt may be retried. */
type FailureKind = 'not_processed' | 'maybe_processed' | 'final'
const failureKinds = new WeakMap<SmsOutboxError, FailureKind>()

// Connection failures that happen before the request can have reached the server.
const NOT_PROCESSED_CODES = new Set([
  'ECONNREFUSED',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
])
// Connection failures after which the server may or may not have processed the request.
const MAYBE_PROCESSED_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
])

const DEFAULTS = { timeoutMs: 10_000, retries: 3, minRetryDelayMs: 250, maxRetryDelayMs: 10_000 }

/**
 * `new SmsOutboxClient({ baseUrl, apiToken })`, then `send`, `sendBatch`, `get`,
 * `notifyResultReady`, and `admin.*` with `adminToken`. Retries 503 (after `Retry-After`),
 * 429 and connection failures with p-retry; never other 4xx, never 500.
 */
export class SmsOutboxClient {
  readonly admin: SmsOutboxAdmin
  readonly #base: URL
  readonly #apiToken: string | undefined
  readonly #adminToken: string | undefined
  readonly #actor: string | undefined
  readonly #timeoutMs: number
  readonly #retries: number
  readonly #minRetryDelayMs: number
  readonly #maxRetryDelayMs: number
  readonly #fetch: typeof globalThis.fetch

  constructor(options: SmsOutboxClientOptions) {
    const base = new URL(options.baseUrl)
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new TypeError(`baseUrl must be http or https, got ${base.protocol}`)
    }
    if (!base.pathname.endsWith('/')) base.pathname += '/'
    base.search = ''
    base.hash = ''
    this.#base = base
    this.#apiToken = options.apiToken
    this.#adminToken = options.adminToken
    this.#actor = options.actor
    this.#timeoutMs = positive('timeoutMs', options.timeoutMs ?? DEFAULTS.timeoutMs)
    this.#retries = nonNegativeInteger('retries', options.retries ?? DEFAULTS.retries)
    this.#minRetryDelayMs = nonNegative('minRetryDelayMs', options.minRetryDelayMs ?? DEFAULTS.minRetryDelayMs)
    this.#maxRetryDelayMs = nonNegative('maxRetryDelayMs', options.maxRetryDelayMs ?? DEFAULTS.maxRetryDelayMs)
    const fetchImpl = options.fetch ?? globalThis.fetch
    if (typeof fetchImpl !== 'function') throw new TypeError('no fetch: use Node 20 or later, or pass options.fetch')
    this.#fetch = fetchImpl
    this.admin = this.#adminApi()
  }

  /**
   * `POST /v1/messages`. Sends `Idempotency-Key` (a new UUID unless given) and reuses it on
   * every retry, so retries never make a second message.
   */
  async send(message: MessageRequest, options: SendOptions = {}): Promise<SendResult> {
    const generated = options.idempotencyKey === undefined
    const idempotencyKey = options.idempotencyKey ?? randomKey()
    const { status, body } = await this.#request<AcceptedMessage>({
      method: 'POST',
      path: 'v1/messages',
      body: message,
      auth: 'api',
      idempotencyKey,
      replaySafe: true,
      signal: options.signal,
    })
    return { ...body, created: status === 202 || generated }
  }

  /**
   * `POST /v1/messages/batch`, up to 1,000 messages, written all or none; one result per
   * message, in order. An item without `idempotencyKey` gets a new UUID, reused on retries.
   */
  async sendBatch(messages: readonly BatchMessageRequest[], options: CallOptions = {}): Promise<BatchMessageResult[]> {
    const generated = messages.map((message) => message.idempotencyKey === undefined)
    const items = messages.map((message) => ({ ...message, idempotencyKey: message.idempotencyKey ?? randomKey() }))
    const { body } = await this.#request<{ messages: BatchMessageResult[] }>({
      method: 'POST',
      path: 'v1/messages/batch',
      body: { messages: items },
      auth: 'api',
      replaySafe: true,
      signal: options.signal,
    })
    return body.messages.map((result, index) => (generated[index] ? { ...result, created: true } : result))
  }

  /** `GET /v1/messages/:id`: the message, its status and every attempt. */
  async get(id: string, options: CallOptions = {}): Promise<MessageDetail> {
    const { body } = await this.#request<MessageDetail>({
      method: 'GET',
      path: `v1/messages/${encodeURIComponent(id)}`,
      auth: 'api',
      replaySafe: true,
      signal: options.signal,
    })
    return body
  }

  /**
   * `POST /v1/notifications/result-ready`: one message per `jobId` however often it is called,
   * so it needs no key and is safe to retry. `created` is false when the job was notified before
   * (possibly by an earlier attempt of this call whose answer was lost).
   */
  async notifyResultReady(request: ResultReadyRequest, options: CallOptions = {}): Promise<SendResult> {
    const { status, body } = await this.#request<AcceptedMessage>({
      method: 'POST',
      path: 'v1/notifications/result-ready',
      body: request,
      auth: 'api',
      replaySafe: true,
      signal: options.signal,
    })
    return { ...body, created: status === 202 }
  }

  #adminApi(): SmsOutboxAdmin {
    const request = <T>(call: Omit<Call, 'auth'>) => this.#request<T>({ ...call, auth: 'admin' })
    const actorHeader = (options: AdminActionOptions): Record<string, string> => {
      const actor = options.actor ?? this.#actor
      return actor === undefined ? {} : { 'x-admin-actor': actor }
    }
    // Admin actions answer differently when replayed (`unchanged`, or a 409 once the retried
    // message was sent), so they are retried only after failures that surely did nothing.
    const action = async <T>(path: string, options: AdminActionOptions, body?: unknown, replaySafe = false) =>
      (await request<T>({ method: 'POST', path, body, headers: actorHeader(options), replaySafe, signal: options.signal })).body
    const read = async <T>(path: string, options: CallOptions, query?: Record<string, string>) =>
      (await request<T>({ method: 'GET', path, query, replaySafe: true, signal: options.signal })).body

    const list = (filter: AdminListFilter = {}, options: CallOptions = {}) =>
      read<MessagePage>('v1/admin/messages', options, listQuery(filter))
    async function* pages(filter: AdminListFilter = {}, options: CallOptions = {}) {
      let cursor = filter.cursor
      do {
        const page = await list({ ...filter, cursor }, options)
        yield page
        cursor = page.nextCursor ?? undefined
      } while (cursor !== undefined)
    }
    async function* messages(filter: AdminListFilter = {}, options: CallOptions = {}) {
      for await (const page of pages(filter, options)) yield* page.messages
    }
    const messagePath = (id: string) => `v1/admin/messages/${encodeURIComponent(id)}`

    return {
      list,
      pages,
      messages,
      get: (id, options = {}) => read<AdminMessageDetail>(messagePath(id), options),
      retry: (id, options = {}) => action<MessageActionResult>(`${messagePath(id)}/retry`, options),
      cancel: (id, options = {}) => action<MessageActionResult>(`${messagePath(id)}/cancel`, options),
      bulkRetry: (body, options = {}) =>
        action<BulkRetryResult>('v1/admin/messages/retry', options, body, body.dryRun === true),
      bulkCancel: (body, options = {}) =>
        action<BulkCancelResult>('v1/admin/messages/cancel', options, body, body.dryRun === true),
      providers: (options = {}) => read<ProvidersStatus>('v1/admin/providers', options),
      pauseProvider: (provider, reason, options = {}) =>
        action<ProviderPauseResult>(`v1/admin/providers/${encodeURIComponent(provider)}/pause`, options, { reason }, true),
      resumeProvider: (provider, options = {}) =>
        action<ProviderResumeResult>(`v1/admin/providers/${encodeURIComponent(provider)}/resume`, options),
      stats: (options = {}) => read<OutboxStats>('v1/admin/stats', options),
    }
  }

  /** One call: attempts under p-retry, each with its own timeout, all with one request id. */
  async #request<T>(call: Call): Promise<Answer<T>> {
    const token = call.auth === 'admin' ? this.#adminToken : this.#apiToken
    if (call.auth === 'admin' && token === undefined) {
      throw new TypeError('admin calls need the adminToken option (ADMIN_TOKEN)')
    }
    const url = new URL(call.path, this.#base)
    for (const [name, value] of Object.entries(call.query ?? {})) url.searchParams.set(name, value)
    // One id for every attempt of the call: the server's log lines (reqId) show them together.
    const requestId = randomKey()
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'sms-outbox-client',
      'x-request-id': requestId,
      ...call.headers,
    }
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    if (call.idempotencyKey !== undefined) headers['idempotency-key'] = call.idempotencyKey
    const body = call.body === undefined ? undefined : JSON.stringify(call.body)
    if (body !== undefined) headers['content-type'] = 'application/json'
    const context = { requestId, idempotencyKey: call.idempotencyKey }

    const attempt = async (attemptNumber: number): Promise<Answer<T>> => {
      const timeout = AbortSignal.timeout(this.#timeoutMs)
      const signal = call.signal ? AbortSignal.any([timeout, call.signal]) : timeout
      let response: Response
      let text: string
      try {
        // The API never redirects; following one would turn a POST into a GET (301/302).
        response = await this.#fetch(url, { method: call.method, headers, body, signal, redirect: 'manual' })
        text = await response.text()
      } catch (error) {
        if (call.signal?.aborted) throw new AbortError(asError(call.signal.reason))
        const failure = transportError(error, `${call.method} ${url.pathname}`, timeout.aborted, this.#timeoutMs, attemptNumber, context)
        throw settle(failure, call.replaySafe)
      }
      const answerId = response.headers.get('x-request-id') ?? requestId
      if (response.ok) {
        try {
          return { status: response.status, body: JSON.parse(text) as T }
        } catch (error) {
          throw new AbortError(
            new SmsOutboxError(`${call.method} ${url.pathname}: ${response.status} with a body that is not JSON`, {
              statusCode: response.status,
              code: 'INVALID_RESPONSE',
              requestId: answerId,
              attempts: attemptNumber,
              idempotencyKey: call.idempotencyKey,
              retryable: false,
              cause: error,
            }),
          )
        }
      }
      throw settle(httpError(response, text, answerId, attemptNumber, context), call.replaySafe)
    }

    const minTimeout = this.#minRetryDelayMs
    const maxTimeout = Math.max(this.#maxRetryDelayMs, minTimeout)
    return pRetry(attempt, {
      retries: this.#retries,
      factor: 2,
      minTimeout,
      maxTimeout,
      // Many callers that met the same 503 should not come back in the same millisecond.
      randomize: true,
      signal: call.signal,
      // p-retry waits its backoff after this returns; a longer Retry-After (capped) makes up
      // the difference here. The backoff is at least minTimeout * 2^n (randomize multiplies
      // it by 1 to 2), so the total wait is never shorter than Retry-After.
      onFailedAttempt: async ({ error, retriesLeft, retriesConsumed }) => {
        if (retriesLeft <= 0 || !(error instanceof SmsOutboxError) || error.retryAfterMs === undefined) return
        const backoff = Math.min(minTimeout * 2 ** retriesConsumed, maxTimeout)
        const extra = Math.min(error.retryAfterMs, maxTimeout) - backoff
        if (extra > 0) await sleep(extra, call.signal)
      },
    })
  }
}

// ---------------------------------------------------------------------------------------
// Helpers

/** The error for p-retry: retried as is, or wrapped in AbortError to stop at once. */
function settle(error: SmsOutboxError, replaySafe: boolean): Error {
  const kind = failureKinds.get(error) ?? 'final'
  const retry = kind === 'not_processed' || (kind === 'maybe_processed' && replaySafe)
  return retry ? error : new AbortError(error)
}

function classified(error: SmsOutboxError, kind: FailureKind): SmsOutboxError {
  failureKinds.set(error, kind)
  return error
}

function transportError(
  error: unknown,
  what: string,
  timedOut: boolean,
  timeoutMs: number,
  attempts: number,
  context: { requestId: string; idempotencyKey?: string },
): SmsOutboxError {
  if (timedOut) {
    return classified(
      new SmsOutboxError(`${what}: no answer within ${timeoutMs} ms`, { code: 'TIMEOUT', attempts, retryable: true, cause: error, ...context }),
      'maybe_processed',
    )
  }
  const code = systemCode(error)
  const kind: FailureKind =
    code !== undefined && NOT_PROCESSED_CODES.has(code)
      ? 'not_processed'
      : code !== undefined && MAYBE_PROCESSED_CODES.has(code)
        ? 'maybe_processed'
        : 'final'
  const detail = deepestMessage(error)
  return classified(
    new SmsOutboxError(`${what} failed: ${code ?? 'no answer'}${detail ? ` (${detail})` : ''}`, {
      code: code ?? 'REQUEST_FAILED',
      attempts,
      retryable: kind !== 'final',
      cause: error,
      ...context,
    }),
    kind,
  )
}

function httpError(
  response: Response,
  text: string,
  requestId: string,
  attempts: number,
  context: { idempotencyKey?: string },
): SmsOutboxError {
  const status = response.status
  const body = parseErrorBody(text)
  const kind: FailureKind =
    status === 503 || status === 429 ? 'not_processed' : status === 502 || status === 504 ? 'maybe_processed' : 'final'
  const retryAfterMs = kind === 'not_processed' ? parseRetryAfter(response.headers.get('retry-after')) : undefined
  const location = response.headers.get('location')
  const snippet =
    status >= 300 && status < 400 && location !== null
      ? `redirected to ${location}; set baseUrl to the service's own address`
      : text.trim().slice(0, 200)
  return classified(
    new SmsOutboxError(body?.message ?? `${status} ${response.statusText}${snippet ? `: ${snippet}` : ''}`, {
      statusCode: status,
      code: body?.code ?? `HTTP_${status}`,
      error: body?.error ?? response.statusText,
      reason: body?.reason,
      requestId,
      attempts,
      idempotencyKey: context.idempotencyKey,
      retryAfterMs,
      retryable: kind !== 'final',
    }),
    kind,
  )
}

function parseErrorBody(text: string): (ApiErrorBody & { reason?: SuppressionReason }) | undefined {
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body !== 'object' || body === null) return undefined
    const { statusCode, code, error, message, reason } = body as Record<string, unknown>
    if (typeof code !== 'string' || typeof message !== 'string') return undefined
    return {
      statusCode: typeof statusCode === 'number' ? statusCode : 0,
      code,
      error: typeof error === 'string' ? error : '',
      message,
      ...(code === 'RECIPIENT_SUPPRESSED' && typeof reason === 'string' && { reason: reason as SuppressionReason }),
    }
  } catch {
    return undefined
  }
}

/** `Retry-After` in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
function parseRetryAfter(header: string | null): number | undefined {
  if (header === null || header.trim() === '') return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.ceil(seconds * 1000) : undefined
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

/** The first `code` along the cause chain (fetch wraps the socket's error in `TypeError: fetch failed`). */
function systemCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') return code
    if (current instanceof AggregateError) {
      const inner = current.errors.map(systemCode).find((found) => found !== undefined)
      if (inner !== undefined) return inner
    }
    current = current.cause
  }
  return undefined
}

function deepestMessage(error: unknown): string | undefined {
  let message: string | undefined
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; depth++) {
    if (current.message) message = current.message
    current = current.cause
  }
  return message
}

function listQuery(filter: AdminListFilter): Record<string, string> {
  const query: Record<string, string> = {}
  for (const [name, value] of Object.entries(filter)) {
    if (value === undefined || value === null) continue
    query[name] = Array.isArray(value) ? value.join(',') : String(value)
  }
  return query
}

function randomKey(): string {
  return globalThis.crypto.randomUUID()
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason ?? 'aborted'))
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new TypeError(`${name} must be a positive number, got ${value}`)
  return value
}

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new TypeError(`${name} must be a number >= 0, got ${value}`)
  return value
}

function nonNegativeInteger(name: string, value: number): number {
  if (!(Number.isInteger(value) && value >= 0)) throw new TypeError(`${name} must be an integer >= 0, got ${value}`)
  return value
}
