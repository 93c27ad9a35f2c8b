import pg from 'pg'

/**
 * The dispatcher is woken at most once per this many ms: a burst of inserts makes one
 * claim per gather instead of one per INSERT. The first notification after a quiet
 * gather wakes it at once, so a lone message waits for no one.
 */
const DEFAULT_GATHER_MS = 5

/** The channel the `messages_notify_due` trigger notifies when due rows are inserted. */
export const DUE_CHANNEL = 'sms_outbox_due'

export interface DueNotifications {
  /** Due messages this process inserted and knows of first-hand: gathered as a notification is. */
  inserted(): void
  close(): Promise<void>
}

/**
 * Calls `onDue` whenever due messages are inserted anywhere, over a dedicated LISTEN
 * connection, except for notifications that `ignoreSender` says come from a server
 * process whose inserts this process reports through `inserted` (LocalEnqueues). Losing
 * the connection costs latency, not messages: the dispatcher still polls, and this
 * reconnects after `retryMs`.
 */
export function listenForDueMessages(
  connectionString: string,
  {
    onDue,
    onError,
    ignoreSender = () => false,
    retryMs = 1_000,
    gatherMs = DEFAULT_GATHER_MS,
  }: {
    onDue: () => void
    onError?: (error: Error) => void
    ignoreSender?: (processId: number) => boolean
    retryMs?: number
    gatherMs?: number
  },
): DueNotifications {
  let client: pg.Client | undefined
  let closed = false
  let retryTimer: NodeJS.Timeout | undefined
  let gatherTimer: NodeJS.Timeout | undefined
  // Every statement that inserts due rows notifies. Calling onDue for each made a claim
  // per INSERT: at a steady 200 msg/s, a claim and an outcome write for every message; at
  // 1,000 msg/s, 3.8 messages per claim, and 7.3 with a gather (bench/, docs/performance.md).
  // Notifications within a gather of the last onDue are folded into one at its end. The
  // gather used to start at the first notification, which held every message after a quiet
  // spell 5 ms for company that at low rates never came.
  let lastDueAt = Number.NEGATIVE_INFINITY
  const due = () => {
    gatherTimer = undefined
    lastDueAt = performance.now()
    onDue()
  }
  const notified = () => {
    if (gatherTimer) return
    const wait = lastDueAt + gatherMs - performance.now()
    if (wait <= 0) due()
    else gatherTimer = setTimeout(due, wait)
  }

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
    next.on('notification', ({ processId }) => {
      if (!ignoreSender(processId)) notified()
    })
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
    inserted: notified,
    async close() {
      closed = true
      clearTimeout(retryTimer)
      clearTimeout(gatherTimer)
      const current = client
      client = undefined
      current?.removeAllListeners()
      await current?.end().catch(() => {})
    },
  }
}
