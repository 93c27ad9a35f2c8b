import type { IncomingHttpHeaders } from 'node:http'
import { Agent, request } from 'undici'
import { outcomeOfRequestError } from './http-failure.ts'
import type { SendOutcome } from './provider.ts'

/** A provider's HTTP answer, read whole. */
export interface ProviderAnswer {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

export interface ProviderRequest {
  method?: 'GET' | 'POST'
  headers: Record<string, string>
  body?: string
}

/**
 * The one way every adapter talks HTTP to its provider: a keep-alive pool of its own
 * (one TCP or TLS connection serves many messages instead of a handshake each), every
 * call under the caller's abort signal (PROVIDER_TIMEOUT_MS).
 */
export function providerHttp() {
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 })

  async function call(url: string, { method = 'POST', headers, body }: ProviderRequest, signal: AbortSignal): Promise<ProviderAnswer> {
    const response = await request(url, { method, dispatcher: agent, signal, headers, body })
    return { status: response.statusCode, headers: response.headers, body: await response.body.text() }
  }

  return {
    call,
    /**
     * One call read into an outcome by `read`; a call that throws instead of answering
     * is an outcome too (refused: nothing sent; a timeout or reset: maybe sent).
     */
    async send(url: string, init: ProviderRequest, signal: AbortSignal, read: (answer: ProviderAnswer) => SendOutcome): Promise<SendOutcome> {
      try {
        return read(await call(url, init, signal))
      } catch (error) {
        return outcomeOfRequestError(error, signal)
      }
    },
    close: () => agent.close(),
  }
}
