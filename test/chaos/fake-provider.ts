import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * How the fake answers one request. The names follow the scenarios: `ok` (with `delayMs`
 * it is the "slow N ms" mode), a bare `status` (500, 503, 4xx), `rateLimited` (429 with
 * Retry-After), `hang` (never answer), `reset` (record, then destroy the socket).
 */
export type ProviderMode =
  | { kind: 'ok'; delayMs?: number }
  | { kind: 'status'; status: number; body?: string }
  | { kind: 'rateLimited'; retryAfterSeconds: number }
  | { kind: 'hang' }
  | { kind: 'reset' }

/** One request as the fake received it, written to the ledger before any answer. */
export interface LedgerEntry {
  id: string
  idempotencyKey: string | undefined
  to: string
  /** Date.now() when the request arrived. */
  at: number
  /** Requests for this message id so far, this one included (1, 2, ...). */
  n: number
  mode: ProviderMode['kind']
  status: number | null
  /**
   * Whether this request counts as an SMS handed to a carrier. The fake takes the
   * pessimistic reading of every answer a real provider could give after sending: ok,
   * hang, reset and any 5xx but 503 count as delivered, so that every duplicate they
   * cause must be explained by an ambiguous attempt. 503, 408, 429 and 4xx promise that
   * nothing was processed, and count as not delivered.
   */
  delivered: boolean
}

/** Decides the answer to one request; `undefined` falls back to the fake's `mode`. */
export type ProviderRule = (request: { id: string; to: string; n: number }) => ProviderMode | undefined

/**
 * The SMS provider the chaos scenarios deliver to: a real HTTP server on 127.0.0.1 that
 * speaks the webhook provider's contract (POST `{id, to, text, type}` with
 * `Idempotency-Key` = the message id) at `url`, and SOLAPI's `send` and
 * `send-many/detail` under `solapiBaseUrl` (messages named by `customFields.outboxId`;
 * signatures are not checked), and keeps a ledger of every message it was sent.
 *
 * A SOLAPI request is answered as one: the mode its first message draws (from `rule`, or
 * `mode`) is the answer for all, and each message's ledger entry says so; `ok` is a
 * `2000` verdict for every message.
 */
export class FakeProvider {
  readonly ledger: LedgerEntry[] = []
  /** The answer for requests no rule decides. */
  mode: ProviderMode = { kind: 'ok' }
  rule: ProviderRule | undefined
  /**
   * Runs after the request is in the ledger and before the answer leaves: scenario 3 cuts
   * the dispatcher's database connection here, at the exact moment the provider says ok.
   */
  beforeAnswer: ((entry: LedgerEntry) => void | Promise<void>) | undefined
  readonly #requestsPerId = new Map<string, number>()
  readonly #deliveredPerId = new Map<string, number>()
  readonly #hanging = new Set<ServerResponse>()
  readonly #sockets = new Set<Socket>()
  #server: Server | undefined
  #url = ''

  get url(): string {
    return this.#url
  }

  get solapiBaseUrl(): string {
    return this.#url.replace(/\/sms$/, '')
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => void this.#answer(request, response))
    server.keepAliveTimeout = 30_000
    server.on('connection', (socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    })
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))
    this.#server = server
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`
    return this
  }

  /** Delivered requests per message id (the receipts the checker counts). */
  get deliveredPerId(): ReadonlyMap<string, number> {
    return this.#deliveredPerId
  }

  /** Every request per message id, delivered or not. */
  get requestsPerId(): ReadonlyMap<string, number> {
    return this.#requestsPerId
  }

  get deliveredCount(): number {
    let total = 0
    for (const count of this.#deliveredPerId.values()) total += count
    return total
  }

  async close(): Promise<void> {
    for (const response of this.#hanging) response.destroy()
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((done) => (this.#server ? this.#server.close(() => done()) : done()))
  }

  async #answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let raw = ''
    try {
      for await (const chunk of request) raw += chunk
    } catch {
      return // the dispatcher gave up while sending: nothing arrived
    }
    let messages: { id: string; to: string }[]
    try {
      messages = messagesOf(request.url, JSON.parse(raw))
    } catch {
      response.writeHead(400).end('not JSON')
      return
    }
    let mode: ProviderMode | undefined
    for (const { id, to } of messages) {
      const n = (this.#requestsPerId.get(id) ?? 0) + 1
      this.#requestsPerId.set(id, n)
      mode ??= this.rule?.({ id, to, n }) ?? this.mode
      const status = statusOf(mode)
      const entry: LedgerEntry = {
        id,
        idempotencyKey: request.headers['idempotency-key'] as string | undefined,
        to,
        at: Date.now(),
        n,
        mode: mode.kind,
        status,
        delivered: status === null || (status >= 200 && status < 300) || (status >= 500 && status !== 503),
      }
      this.ledger.push(entry)
      if (entry.delivered) this.#deliveredPerId.set(id, (this.#deliveredPerId.get(id) ?? 0) + 1)
      await this.beforeAnswer?.(entry)
    }
    if (!mode) {
      response.writeHead(400).end('no messages')
      return
    }
    const solapi = request.url !== '/sms'

    switch (mode.kind) {
      case 'hang':
        this.#hanging.add(response)
        response.once('close', () => this.#hanging.delete(response))
        return
      case 'reset':
        request.socket.destroy()
        return
      case 'ok': {
        if (mode.delayMs) await new Promise((done) => setTimeout(done, mode.delayMs))
        const body = solapi ? solapiAccepted(request.url, messages) : { received: messages[0].id }
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
        return
      }
      case 'rateLimited':
        response
          .writeHead(429, { 'content-type': 'application/json', 'retry-after': String(mode.retryAfterSeconds) })
          .end('{"error":"too many requests"}')
        return
      case 'status':
        response.writeHead(mode.status, { 'content-type': 'application/json' }).end(mode.body ?? '{"error":"fake"}')
    }
  }
}

function statusOf(mode: ProviderMode): number | null {
  switch (mode.kind) {
    case 'ok':
      return 200
    case 'status':
      return mode.status
    case 'rateLimited':
      return 429
    case 'hang':
    case 'reset':
      return null
  }
}

const SOLAPI_SEND = '/messages/v4/send'
const SOLAPI_SEND_MANY = '/messages/v4/send-many/detail'

type SolapiMessage = { to?: unknown; customFields?: { outboxId?: unknown } }

/** The messages of one request, by the contract its path speaks. */
function messagesOf(path: string | undefined, body: unknown): { id: string; to: string }[] {
  const fromSolapi = (message: SolapiMessage) => ({ id: String(message.customFields?.outboxId), to: String(message.to) })
  if (path === SOLAPI_SEND) return [fromSolapi((body as { message: SolapiMessage }).message)]
  if (path === SOLAPI_SEND_MANY) return (body as { messages: SolapiMessage[] }).messages.map(fromSolapi)
  const { id, to } = body as { id?: unknown; to?: unknown }
  return [{ id: String(id), to: String(to) }]
}

/** SOLAPI's 200 when it takes every message: one `2000` verdict each, named by outboxId. */
function solapiAccepted(path: string | undefined, messages: { id: string }[]) {
  const verdict = (id: string, n: number) => ({ messageId: `M4VCHAOS${n}`, statusCode: '2000', statusMessage: 'accepted', customFields: { outboxId: id } })
  if (path === SOLAPI_SEND) return verdict(messages[0].id, 0)
  return { failedMessageList: [], groupInfo: { count: { total: messages.length } }, messageList: messages.map((m, n) => verdict(m.id, n)) }
}
