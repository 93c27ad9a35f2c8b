import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the fake did with one request. */
export type FakeReply =
  | { status: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  /** Never answer (until the fake closes). */
  | { hang: true }
  /** Read the request, record it, then destroy the socket: the message may have been sent. */
  | { reset: true }

type WireMessage = Omit<Receipt, 'at' | 'idempotencyKey'>

export interface Receipt {
  id: string
  to: string
  text: string
  type: string
  idempotencyKey: string | undefined
  at: number
}

/**
 * A webhook SMS provider on 127.0.0.1: a real HTTP server that records every request in
 * its ledger before answering as `reply` says (by default 200).
 */
export interface FakeWebhook {
  url: string
  ledger: Receipt[]
  /**
   * Decides each answer; `n` counts requests for this message id, from 1. In a batch
   * request it decides each message's result: its `status` (and `body` as `error`), or,
   * for `hang`/`reset`, no result at all for that message.
   */
  reply: (receipt: Receipt, n: number) => FakeReply
  /** Batch requests only: answers the whole request instead of one result per message. */
  batchReply?: (receipts: Receipt[]) => FakeReply
  /** Requests received; a batch request counts once. */
  requests: number
  close(): Promise<void>
}

export async function startFakeWebhook(t: { teardown(fn: () => unknown): void }): Promise<FakeWebhook> {
  const hanging = new Set<ServerResponse>()
  const fake: FakeWebhook = {
    url: '',
    ledger: [],
    requests: 0,
    reply: () => ({ status: 200 }),
    close: () => new Promise<void>((done) => {
      for (const response of hanging) response.destroy()
      server.closeAllConnections()
      server.close(() => done())
    }),
  }
  const server: Server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    let raw = ''
    for await (const chunk of request) raw += chunk
    fake.requests += 1
    const body = JSON.parse(raw) as WireMessage | { messages: WireMessage[] }
    const idempotencyKey = request.headers['idempotency-key'] as string | undefined
    const record = (message: WireMessage) => {
      const receipt: Receipt = { ...message, idempotencyKey, at: Date.now() }
      fake.ledger.push(receipt)
      return { receipt, n: fake.ledger.filter((r) => r.id === receipt.id).length }
    }
    if (!('messages' in body)) {
      const { receipt, n } = record(body)
      await answer(fake.reply(receipt, n), request, response, hanging, JSON.stringify({ received: receipt.id }))
      return
    }
    const recorded = body.messages.map(record)
    if (fake.batchReply) {
      await answer(fake.batchReply(recorded.map(({ receipt }) => receipt)), request, response, hanging)
      return
    }
    const results = recorded.flatMap(({ receipt, n }) => {
      const reply = fake.reply(receipt, n)
      return 'status' in reply ? [{ id: receipt.id, status: reply.status, ...(reply.body && { error: reply.body }) }] : []
    })
    await answer({ status: 200 }, request, response, hanging, JSON.stringify({ results }))
  })
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`
  t.teardown(() => fake.close())
  return fake
}

/**
 * Answers as `reply` says: JSON with a status, after an optional delay; never (the
 * response joins `hanging`, destroyed when the fake closes); or a reset after the request
 * was read. Shared by every fake provider.
 */
export async function answer(
  reply: FakeReply,
  request: IncomingMessage,
  response: ServerResponse,
  hanging: Set<ServerResponse>,
  defaultBody = '',
): Promise<void> {
  if ('hang' in reply) {
    hanging.add(response)
    return
  }
  if ('reset' in reply) {
    request.socket.destroy()
    return
  }
  if (reply.delayMs) await new Promise((done) => setTimeout(done, reply.delayMs))
  response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
  response.end(reply.body ?? defaultBody)
}
