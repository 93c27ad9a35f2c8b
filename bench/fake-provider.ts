import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The webhook provider at its fastest: a real HTTP server on 127.0.0.1 that reads each
 * request and answers 200 at once. It counts what it received and tells `onMessage`
 * the text and the time of receipt (this process's clock, the one the load generator
 * stamps requests with).
 */
export interface FakeProvider {
  url: string
  received: number
  onMessage: ((text: string, at: number) => void) | undefined
  /** Resolves once `count` messages have arrived in all; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs: number): Promise<void>
  close(): Promise<void>
}

export async function startFakeProvider(): Promise<FakeProvider> {
  let waiter: { count: number; done: () => void } | undefined
  const fake: FakeProvider = {
    url: '',
    received: 0,
    onMessage: undefined,
    waitFor(count, timeoutMs) {
      if (fake.received >= count) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = undefined
          reject(new Error(`the fake provider received ${fake.received} of ${count} messages in ${timeoutMs} ms`))
        }, timeoutMs)
        waiter = { count, done: () => (clearTimeout(timer), resolve()) }
      })
    },
    close: () =>
      new Promise((done) => {
        server.close(() => done())
        server.closeAllConnections()
      }),
  }
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const at = performance.now()
      fake.received += 1
      if (fake.onMessage) fake.onMessage((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text: string }).text, at)
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' }).end('{"ok":true}')
      if (waiter && fake.received >= waiter.count) {
        const { done } = waiter
        waiter = undefined
        done()
      }
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`
  return fake
}
