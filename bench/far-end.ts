// The bench's far end, run by bench/far-end-process.ts in a process of its own (fork):
// the fake provider, and the open-loop sender of the lag phase. A message's lag and the
// provider's receipts are stamped here, on an event loop that nothing else of the bench
// shares. In the bench's own process they took its pauses too (collecting a heap that
// holds the phases' results, the drains' database polling): 10-45 ms that could land in
// the lag's tail and did in the rate limit's busiest second.
import { startFakeProvider } from './fake-provider.ts'
import { sendAtRate, type RateOptions } from './send-at-rate.ts'

const provider = await startFakeProvider()
let receipts: number[] = []

const requests: Record<string, (args: never) => unknown> = {
  counts: () => ({ received: provider.received, requests: provider.requests }),
  waitFor: ({ count, timeoutMs }: { count: number; timeoutMs: number }) => provider.waitFor(count, timeoutMs),
  recordReceipts: () => {
    receipts = []
    provider.onMessage = (_, at) => receipts.push(at)
  },
  takeReceipts: () => {
    provider.onMessage = undefined
    return receipts.splice(0)
  },
  sendAtRate: (options: RateOptions) => sendAtRate(provider, options, () => process.send!({ event: 'warm' })),
}

process.on('message', async ({ id, request, args }: { id: number; request: string; args: never }) => {
  try {
    process.send!({ id, result: await requests[request](args) })
  } catch (error) {
    process.send!({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) })
  }
})
// The bench went away (ended or crashed): so does its far end.
process.on('disconnect', () => void provider.close().then(() => process.exit(0)))
process.send!({ event: 'ready', url: provider.url, solapiBaseUrl: provider.solapiBaseUrl })
