import type { IncomingHttpHeaders } from 'node:http'
import { Agent, type Dispatcher } from 'undici'
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

  function call(url: string, { method = 'POST', headers, body }: ProviderRequest, signal: AbortSignal): Promise<ProviderAnswer> {
    const { origin, pathname, search } = new URL(url)
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason)
      agent.dispatch({ origin, path: pathname + search, method, headers, body }, new AnswerReader(signal, resolve, reject))
    })
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

/**
 * Reads one answer whole, straight from undici's dispatch handler. undici's `request()`
 * wraps every answer in a Readable stream and an AsyncResource, for an answer of a few
 * hundred bytes: undici's share of a worker's busy time fell from 13.5% to 8.2% without
 * them (bench `dispatch`, webhook one message per call; docs/performance.md).
 */
class AnswerReader implements Dispatcher.DispatchHandler {
  readonly #signal: AbortSignal
  readonly #resolve: (answer: ProviderAnswer) => void
  readonly #reject: (error: unknown) => void
  #controller: Dispatcher.DispatchController | undefined
  #status = 0
  #headers: IncomingHttpHeaders = {}
  readonly #chunks: Buffer[] = []

  constructor(signal: AbortSignal, resolve: (answer: ProviderAnswer) => void, reject: (error: unknown) => void) {
    this.#signal = signal
    this.#resolve = resolve
    this.#reject = reject
    signal.addEventListener('abort', this.#abort)
  }

  readonly #abort = () => this.#controller?.abort(this.#signal.reason)

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    // A signal that fired while the request waited for a connection aborts it now.
    if (this.#signal.aborted) controller.abort(this.#signal.reason)
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.#status = statusCode
    this.#headers = headers
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#chunks.push(chunk)
  }

  onResponseEnd(): void {
    this.#signal.removeEventListener('abort', this.#abort)
    const body = this.#chunks.length === 1 ? this.#chunks[0].toString() : Buffer.concat(this.#chunks).toString()
    this.#resolve({ status: this.#status, headers: this.#headers, body })
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#signal.removeEventListener('abort', this.#abort)
    this.#reject(error)
  }
}
