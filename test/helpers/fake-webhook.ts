import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the fake did with one request. */
export type FakeReply =
  | { status: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  /** Never answer (until the fake closes). */
  | { hang: true }
  /** Read the request, record it, then destroy the socket: the message may have been sent. */
  | { reset: true }

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
  /** Decides each answer; `n` counts requests for this message id, from 1. */
  reply: (receipt: Receipt, n: number) => FakeReply
  close(): Promise<void>
}

export async function startFakeWebhook(t: { teardown(fn: () => unknown): void }): Promise<FakeWebhook> {
  const hanging = new Set<ServerResponse>()
  const fake: FakeWebhook = {
    url: '',
    ledger: [],
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
    const body = JSON.parse(raw) as Omit<Receipt, 'at' | 'idempotencyKey'>
    const receipt: Receipt = {
      ...body,
      idempotencyKey: request.headers['idempotency-key'] as string | undefined,
      at: Date.now(),
    }
    fake.ledger.push(receipt)
    const n = fake.ledger.filter((r) => r.id === receipt.id).length
    await answer(fake.reply(receipt, n), request, response, hanging, JSON.stringify({ received: receipt.id }))
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
