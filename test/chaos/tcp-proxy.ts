import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy on 127.0.0.1 that the harness owns, between a service and PostgreSQL, so
 * that the network can fail at a chosen moment without touching the server others use.
 * - `forward`: bytes flow both ways.
 * - `blackhole`: nothing flows and nothing is refused: bytes wait, as packets a dead link
 *   drops would be retransmitted. New connections are accepted and left waiting. A client
 *   notices only through its own timeouts. `heal()` lets everything through again.
 * - `cut()`: every connection is destroyed now and new ones are reset at once, as when
 *   the database host vanishes; `heal()` accepts connections again.
 */
export class TcpProxy {
  readonly #target: { host: string; port: number }
  readonly #pairs = new Set<{ client: Socket; upstream: Socket | undefined }>()
  #state: 'forward' | 'blackhole' | 'cut' = 'forward'
  #server: Server | undefined
  #port = 0
  /** Connections accepted so far; scenario figures report it. */
  accepted = 0

  constructor(target: { host: string; port: number }) {
    this.#target = target
  }

  get port(): number {
    return this.#port
  }

  get state(): 'forward' | 'blackhole' | 'cut' {
    return this.#state
  }

  async start(): Promise<this> {
    const server = createServer((client) => this.#accept(client))
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))
    this.#server = server
    this.#port = (server.address() as AddressInfo).port
    return this
  }

  /** `databaseUrl` rewritten to reach the same database through this proxy. */
  route(databaseUrl: string): string {
    const url = new URL(databaseUrl)
    url.host = `127.0.0.1:${this.#port}`
    return url.toString()
  }

  blackhole(): void {
    this.#state = 'blackhole'
    for (const pair of this.#pairs) {
      pair.client.pause()
      pair.upstream?.pause()
    }
  }

  cut(): void {
    this.#state = 'cut'
    for (const pair of this.#pairs) {
      pair.client.resetAndDestroy()
      pair.upstream?.destroy()
    }
    this.#pairs.clear()
  }

  heal(): void {
    this.#state = 'forward'
    for (const pair of this.#pairs) {
      if (!pair.upstream) this.#connectUpstream(pair)
      pair.client.resume()
      pair.upstream?.resume()
    }
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((done) => (this.#server ? this.#server.close(() => done()) : done()))
  }

  #accept(client: Socket): void {
    this.accepted += 1
    if (this.#state === 'cut') {
      client.resetAndDestroy()
      return
    }
    const pair: { client: Socket; upstream: Socket | undefined } = { client, upstream: undefined }
    this.#pairs.add(pair)
    client.on('error', () => {})
    client.once('close', () => {
      pair.upstream?.destroy()
      this.#pairs.delete(pair)
    })
    client.pause()
    if (this.#state === 'forward') this.#connectUpstream(pair)
  }

  #connectUpstream(pair: { client: Socket; upstream: Socket | undefined }): void {
    const upstream = connect(this.#target)
    pair.upstream = upstream
    upstream.on('error', () => {})
    upstream.once('close', () => pair.client.destroy())
    upstream.pipe(pair.client)
    pair.client.pipe(upstream)
    pair.client.resume()
  }
}
