import { createHmac, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { answer, type FakeReply } from './fake-webhook.ts'

/** One message SOLAPI took in: the fields of `{message}` (or of one of `{messages}`) it was sent. */
export interface SolapiReceipt {
  to: string
  from: string
  text: string
  type: string | undefined
  country: string | undefined
  /** `customFields.outboxId`: the outbox's message id, when the sender gave it. */
  outboxId: string | undefined
  /** The messageId SOLAPI answered, when it accepted the message (statusCode 2000). */
  messageId?: string
  at: number
}

type ReplyTo = (receipt: SolapiReceipt, n: number) => FakeReply

/**
 * SOLAPI's `POST /messages/v4/send` and `POST /messages/v4/send-many/detail` on 127.0.0.1:
 * a real HTTP server that checks the HMAC signature, its date and its single use, and the
 * message fields, as SOLAPI does; records each message of a valid request in its ledger,
 * then answers as `reply` says (by default 200, "2000").
 *
 * A send-many request asks `reply` about each message. Verdicts (HTTP 200 with a
 * statusCode) go into `messageList` (2000, and only with `showMessageList`) or
 * `failedMessageList`; the first reply that is not a verdict (an error, a hang, a reset)
 * answers the whole request instead.
 */
export interface FakeSolapi {
  baseUrl: string
  ledger: SolapiReceipt[]
  /** Messages per valid request, in order: 1 for each single send. */
  requests: number[]
  /** The errorCode of each request it refused before the ledger (auth, validation, path). */
  rejections: string[]
  /** Decides each answer; `n` counts requests with this `to` and `text`, from 1. */
  reply: ReplyTo
  /**
   * How a send-many answer is shaped, within what the SDK's own response schema allows:
   * `customFields` is optional on every item there, and a `messageList` item has no `to`.
   * By default the answer echoes customFields and leaves `to` out of messageList.
   */
  manyAnswer: { customFields: boolean; messageListTo: boolean }
  /**
   * `GET /messages/v4/list`: each accepted message's statusCode, by messageId. A message
   * starts at 3000 (handed to the carrier); a test sets 4000 (received) or a failure code.
   */
  deliveries: Map<string, string>
  /** The messageIds each valid list request asked about, in order. */
  listRequests: string[][]
  /** Answers the next list requests instead of the list (an outage), while set. */
  listFailure: FakeReply | undefined
  close(): Promise<void>
}

/** Replies for `fake.reply`, one per row of the SOLAPI code table. */
export const fakeSolapiReplies = {
  /** Accepted for sending: what a real send answers. */
  accepted: (): ReplyTo => (receipt) => messageResult(receipt, '2000', '정상 접수(이통사로 접수 예정)'),
  /** Read but refused: HTTP 200 with a failing statusCode, e.g. `statusCode('1030')`. */
  statusCode:
    (statusCode: string, statusMessage = `fake statusCode ${statusCode}`): ReplyTo =>
    (receipt) =>
      messageResult(receipt, statusCode, statusMessage),
  /** An error answer, e.g. `error(402, 'NotEnoughBalance')`. */
  error:
    (status: number, errorCode: string, errorMessage = `fake ${errorCode}`): ReplyTo =>
    () =>
      solapiError(status, errorCode, errorMessage),
  /** 429 with SOLAPI's own header; its text is in `message`, not `errorMessage`. */
  tooManyRequests:
    (retryAfterSeconds: number): ReplyTo =>
    () => ({
      status: 429,
      headers: { 'x-retry-after': String(retryAfterSeconds) },
      body: JSON.stringify({ errorCode: 'TooManyRequests', message: 'Too many requests' }),
    }),
}

const SEND_PATH = '/messages/v4/send'
const SEND_MANY_PATH = '/messages/v4/send-many/detail'
const LIST_PATH = '/messages/v4/list'
const ALLOWED_SKEW_MS = 15 * 60_000

/** Why the fake refused a request before its ledger. */
type Refusal = [status: number, errorCode: string, errorMessage: string]
const MISSING_FIELDS: Refusal = [400, 'ValidationError', 'message.to, message.from and message.text are required']
const NO_MESSAGES: Refusal = [400, 'ValidationError', 'messages must hold 1 to 10000 messages']

export async function startFakeSolapi(
  t: { teardown(fn: () => unknown): void },
  { apiKey, apiSecret }: { apiKey: string; apiSecret: string },
): Promise<FakeSolapi> {
  // SOLAPI forgets signatures after 15 minutes; a test never runs that long.
  const usedSalts = new Set<string>()
  const usedSignatures = new Set<string>()
  const hanging = new Set<ServerResponse>()
  const fake: FakeSolapi = {
    baseUrl: '',
    ledger: [],
    requests: [],
    rejections: [],
    reply: fakeSolapiReplies.accepted(),
    manyAnswer: { customFields: true, messageListTo: false },
    deliveries: new Map(),
    listRequests: [],
    listFailure: undefined,
    close: () => new Promise<void>((done) => {
      for (const response of hanging) response.destroy()
      server.closeAllConnections()
      server.close(() => done())
    }),
  }

  function authRefusal(header: string | undefined): Refusal | undefined {
    const fields = parseAuthorization(header)
    // SOLAPI does not document the code for a malformed header; this one is the fake's.
    if (!fields) return [403, 'InvalidAuthorization', 'Authorization header is not HMAC-SHA256 apiKey, date, salt, signature']
    if (fields.apiKey !== apiKey) return [403, 'InvalidAPIKey', 'Invalid API Key']
    // NaN (an unreadable date) fails the comparison, as it should.
    if (!(Math.abs(Date.now() - Date.parse(fields.date)) <= ALLOWED_SKEW_MS)) {
      return [403, 'RequestTimeTooSkewed', 'Request date is not within 15 minutes of the server time']
    }
    const expected = createHmac('sha256', apiSecret).update(fields.date + fields.salt).digest('hex')
    if (fields.signature !== expected) return [403, 'SignatureDoesNotMatch', 'Signature does not match']
    if (usedSalts.has(fields.salt) || usedSignatures.has(fields.signature)) {
      return [403, 'DuplicatedSignature', 'This signature has already been used']
    }
    usedSalts.add(fields.salt)
    usedSignatures.add(fields.signature)
    return undefined
  }

  function receiptOf(message: Record<string, unknown> | undefined): SolapiReceipt | undefined {
    const { to, from, text, type, country, customFields } = message ?? {}
    if (typeof to !== 'string' || !to || typeof from !== 'string' || !from || typeof text !== 'string' || !text) {
      return undefined
    }
    const outboxId = optional((customFields as Record<string, unknown> | undefined)?.outboxId)
    return { to, from, text, type: optional(type), country: optional(country), outboxId, at: Date.now() }
  }

  function take(receipt: SolapiReceipt): FakeReply {
    fake.ledger.push(receipt)
    const n = fake.ledger.filter((r) => r.to === receipt.to && r.text === receipt.text).length
    const reply = fake.reply(receipt, n)
    const verdict = 'status' in reply && reply.status === 200 ? parseJson(reply.body ?? '') : undefined
    if (verdict?.statusCode === '2000' && typeof verdict.messageId === 'string') {
      receipt.messageId = verdict.messageId
      fake.deliveries.set(verdict.messageId, '3000')
    }
    return reply
  }

  /** `GET /messages/v4/list?messageIds=...`: the messages as SOLAPI stored them, keyed by id. */
  function list(url: URL): FakeReply {
    if (fake.listFailure) return fake.listFailure
    const ids = url.searchParams.getAll('messageIds')
    fake.listRequests.push(ids)
    const messageList: Record<string, object> = {}
    for (const id of ids) {
      const statusCode = fake.deliveries.get(id)
      const receipt = fake.ledger.find((r) => r.messageId === id)
      if (statusCode === undefined || !receipt) continue
      const final = statusCode !== '2000' && statusCode !== '3000'
      messageList[id] = {
        messageId: id,
        to: receipt.to,
        from: receipt.from,
        type: receipt.type ?? 'SMS',
        statusCode,
        status: final ? 'COMPLETE' : 'SENDING',
        dateCreated: new Date(receipt.at).toISOString(),
        dateReceived: statusCode === '4000' ? new Date().toISOString() : null,
      }
    }
    return { status: 200, body: JSON.stringify({ startKey: null, nextKey: null, limit: ids.length, messageList }) }
  }

  function handle(request: IncomingMessage, raw: string): FakeReply {
    const url = new URL(request.url ?? '/', 'http://fake')
    if (request.method === 'GET' && url.pathname === LIST_PATH) {
      const refusal = authRefusal(request.headers.authorization)
      return refusal ? refuse(refusal) : list(url)
    }
    const path = request.method === 'POST' ? request.url : undefined
    const refusal =
      path !== SEND_PATH && path !== SEND_MANY_PATH
        ? ([404, 'NotFound', `${request.method} ${request.url} not found`] as Refusal)
        : authRefusal(request.headers.authorization)
    if (refusal) return refuse(refusal)
    const body = parseJson(raw)
    if (path === SEND_PATH) {
      const receipt = receiptOf(body?.message as Record<string, unknown> | undefined)
      if (!receipt) return refuse(MISSING_FIELDS)
      fake.requests.push(1)
      return take(receipt)
    }
    const messages = body?.messages
    if (!Array.isArray(messages) || messages.length === 0 || messages.length > 10_000) return refuse(NO_MESSAGES)
    const receipts = messages.map((message) => receiptOf(message as Record<string, unknown>))
    // SOLAPI validates the whole request before it takes any message.
    if (receipts.some((receipt) => !receipt)) return refuse(MISSING_FIELDS)
    fake.requests.push(receipts.length)
    const replies = (receipts as SolapiReceipt[]).map(take)
    const whole = replies.find((reply) => !('status' in reply) || reply.status !== 200)
    if (whole) return whole
    const results = replies.map((reply, i) => ({
      ...(JSON.parse((reply as { body?: string }).body ?? '{}') as object),
      ...(fake.manyAnswer.customFields ? { customFields: { outboxId: receipts[i]!.outboxId } } : {}),
    }))
    return manyResult(results, body?.showMessageList === true, fake.manyAnswer.messageListTo)
  }

  function refuse([status, errorCode, errorMessage]: Refusal): FakeReply {
    fake.rejections.push(errorCode)
    return solapiError(status, errorCode, errorMessage)
  }

  const server: Server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    let raw = ''
    for await (const chunk of request) raw += chunk
    const reply = handle(request, raw)
    await answer(reply, request, response, hanging)
  })

  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(() => fake.close())
  return fake
}

/** `HMAC-SHA256 apiKey=..., date=..., salt=..., signature=...` as its four fields. */
function parseAuthorization(header: string | undefined) {
  const match = /^HMAC-SHA256 (.+)$/.exec(header ?? '')
  if (!match) return undefined
  const fields = new Map(
    match[1].split(/,\s*/).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  )
  const [key, date, salt, signature] = ['apiKey', 'date', 'salt', 'signature'].map((name) => fields.get(name))
  if (!key || !date || !salt || !signature) return undefined
  return { apiKey: key, date, salt, signature }
}

function parseJson(raw: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw)
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function optional(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function solapiError(status: number, errorCode: string, errorMessage: string): FakeReply {
  return { status, body: JSON.stringify({ errorCode, errorMessage }) }
}

/** SOLAPI's 200 to a single send: the message as it took it in, with its verdict. */
function messageResult(receipt: SolapiReceipt, statusCode: string, statusMessage: string): FakeReply {
  const body = {
    groupId: `G4V${randomBytes(8).toString('hex').toUpperCase()}`,
    messageId: `M4V${randomBytes(8).toString('hex').toUpperCase()}`,
    statusCode,
    statusMessage,
    to: receipt.to,
    from: receipt.from,
    type: receipt.type ?? 'SMS',
    country: receipt.country ?? '82',
    accountId: '24010100000001',
  }
  return { status: 200, body: JSON.stringify(body) }
}

/** SOLAPI's 200 to a send-many/detail: the group's counts and each message's verdict. */
function manyResult(results: Record<string, unknown>[], showMessageList: boolean, withTo: boolean): FakeReply {
  const accepted = results.filter((result) => result.statusCode === '2000')
  const failedMessageList = results.filter((result) => result.statusCode !== '2000')
  const groupInfo = {
    groupId: `G4V${randomBytes(8).toString('hex').toUpperCase()}`,
    count: { total: results.length, registeredSuccess: accepted.length, registeredFailed: failedMessageList.length },
  }
  const messageList = accepted.map(({ messageId, statusCode, statusMessage, customFields, to }) => ({
    messageId,
    statusCode,
    statusMessage,
    ...(customFields ? { customFields } : {}),
    ...(withTo ? { to } : {}),
  }))
  const body = showMessageList ? { failedMessageList, groupInfo, messageList } : { failedMessageList, groupInfo }
  return { status: 200, body: JSON.stringify(body) }
}
