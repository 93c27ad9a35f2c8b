import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The providers at their fastest: a real HTTP server on 127.0.0.1 that reads each request
 * and answers at once. It speaks the webhook contract at `url` (200 to each message) and
 * its batch form (`{messages}` answered by a 200 result for each id), and
 * SOLAPI's `send` and `send-many/detail` under `solapiBaseUrl` (a 2000 verdict for every
 * message, matched by its customFields; the signature is not checked). It counts the messages it
 * received and tells `onMessage` the text and the time of receipt (this process's clock,
 * the one the load generator stamps requests with).
 */
export interface FakeProvider {
  url: string
  solapiBaseUrl: string
  received: number
  /** Provider calls, for messages per call. */
  requests: number
  onMessage: ((text: string, at: number) => void) | undefined
  /** Resolves once `count` messages have arrived in all; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs: number): Promise<void>
  close(): Promise<void>
}

const SEND_PATH = '/messages/v4/send'
const SEND_MANY_PATH = '/messages/v4/send-many/detail'

interface SolapiMessage {
  text: string
  customFields?: Record<string, string>
}

const accepted = ({ customFields }: SolapiMessage) => ({
  messageId: `M4V${randomBytes(8).toString('hex').toUpperCase()}`,
  statusCode: '2000',
  statusMessage: 'accepted',
  customFields,
})

export async function startFakeProvider(): Promise<FakeProvider> {
  let waiter: { count: number; done: () => void } | undefined
  const fake: FakeProvider = {
    url: '',
    solapiBaseUrl: '',
    received: 0,
    requests: 0,
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
  const receive = (texts: string[], at: number) => {
    fake.requests += 1
    fake.received += texts.length
    if (fake.onMessage) for (const text of texts) fake.onMessage(text, at)
    if (waiter && fake.received >= waiter.count) {
      const { done } = waiter
      waiter = undefined
      done()
    }
  }
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const at = performance.now()
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as
        | { text: string }
        | { message: SolapiMessage }
        | { messages: SolapiMessage[] }
        | { messages: { id: string; text: string }[] }
      const answerJson = (value: unknown) => {
        const answer = JSON.stringify(value)
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer)
      }
      if (request.url === SEND_MANY_PATH && 'messages' in body) {
        receive(body.messages.map((message) => message.text), at)
        answerJson({
          failedMessageList: [],
          groupInfo: { count: { total: body.messages.length, registeredFailed: 0 } },
          messageList: body.messages.map(accepted),
        })
        return
      }
      if ('messages' in body) {
        const messages = body.messages as { id: string; text: string }[]
        receive(messages.map((message) => message.text), at)
        answerJson({ results: messages.map(({ id }) => ({ id, status: 200 })) })
        return
      }
      if (request.url === SEND_PATH && 'message' in body) {
        receive([body.message.text], at)
        answerJson(accepted(body.message))
        return
      }
      receive([(body as { text: string }).text], at)
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' }).end('{"ok":true}')
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  fake.url = `${origin}/sms`
  fake.solapiBaseUrl = origin
  return fake
}
