import pg from 'pg'
import { DUE_CHANNEL } from '../../src/outbox/dispatch/due-notifications.ts'

export interface DueChannel {
  /** How many notifications the insert trigger sent since the last call (or since LISTEN). */
  countSinceLast(): Promise<number>
}

/**
 * A LISTEN connection of the test's own on the channel the insert trigger notifies. To
 * count without waiting for a silence, it notifies a marker and waits for that: PostgreSQL
 * delivers the notifications of different transactions in the order they committed, so
 * every notification committed before the marker has arrived once the marker has.
 */
export async function listenToDueChannel(t: { teardown(fn: () => unknown): void }, url: string): Promise<DueChannel> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  let received = 0
  let markers = 0
  const awaited = new Map<string, () => void>()
  client.on('notification', ({ payload = '' }) => {
    const markerArrived = awaited.get(payload)
    if (markerArrived) {
      awaited.delete(payload)
      markerArrived()
    } else received += 1
  })
  await client.query(`LISTEN ${DUE_CHANNEL}`)
  return {
    async countSinceLast() {
      const marker = `test-marker-${(markers += 1)}`
      const arrived = new Promise<void>((resolve) => awaited.set(marker, resolve))
      // A session receives its own notifications too.
      await client.query('SELECT pg_notify($1, $2)', [DUE_CHANNEL, marker])
      await arrived
      const count = received
      received = 0
      return count
    },
  }
}
