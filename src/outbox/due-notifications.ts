import pg from 'pg'

/** The channel the `messages_notify_due` trigger notifies when due rows are inserted. */
export const DUE_CHANNEL = 'sms_outbox_due'

/**
 * Calls `onDue` whenever due messages are inserted anywhere, over a dedicated LISTEN
 * connection. Losing the connection costs latency, not messages: the dispatcher still
 * polls, and this reconnects after `retryMs`.
 */
export function listenForDueMessages(
  connectionString: string,
  { onDue, onError, retryMs = 1_000 }: { onDue: () => void; onError?: (error: Error) => void; retryMs?: number },
): { close(): Promise<void> } {
  let client: pg.Client | undefined
  let closed = false
  let retryTimer: NodeJS.Timeout | undefined

  function reconnectLater(error: Error) {
    onError?.(error)
    client?.removeAllListeners()
    client?.end().catch(() => {})
    client = undefined
    if (!closed) retryTimer = setTimeout(connect, retryMs)
  }

  async function connect() {
    const next = new pg.Client({ connectionString, connectionTimeoutMillis: 5_000, keepAlive: true })
    client = next
    next.on('notification', () => onDue())
    next.on('error', reconnectLater)
    try {
      await next.connect()
      await next.query(`LISTEN ${DUE_CHANNEL}`)
      // Rows may have arrived while no one listened.
      onDue()
    } catch (error) {
      if (client === next) reconnectLater(error as Error)
    }
  }

  void connect()
  return {
    async close() {
      closed = true
      clearTimeout(retryTimer)
      const current = client
      client = undefined
      current?.removeAllListeners()
      await current?.end().catch(() => {})
    },
  }
}
