// One of scenario 4's concurrent claimers, as its own process: claims due rows 100 at a
// time with the real claimDue statement, and gives each back at once, 1 in 5 as a
// retryable failure (due again now) and the rest as sent, until nothing is due. Prints one
// JSON line: how many claims it made, the rows they returned, and the largest claim.
import { connectDatabase } from '../../src/db/database.ts'
import { claimDue } from '../../src/outbox/dispatch/claim-due.ts'
import { recordOutcomes, type AttemptResult } from '../../src/outbox/dispatch/record-outcomes.ts'

const limit = Number(process.env.CLAIM_LIMIT ?? 100)
const database = connectDatabase(process.env.DATABASE_URL!, { poolSize: 2 })
let claims = 0
let rows = 0
let largest = 0
let released = 0
try {
  for (let idle = 0; idle < 3; ) {
    // A 10-minute lease: nothing expires during the run, so any row held twice is a claim bug.
    const { messages: claimed } = await claimDue(database.pool, { limit, leaseMs: 600_000, provider: 'webhook', probeIntervalMs: 60_000 })
    if (claimed.length === 0) {
      idle += 1
      await new Promise((done) => setTimeout(done, 50))
      continue
    }
    idle = 0
    claims += 1
    rows += claimed.length
    largest = Math.max(largest, claimed.length)
    const results: AttemptResult[] = claimed.map((message) => {
      const retry = message.countedAttempts <= message.maxRetries && Number.parseInt(message.id.slice(0, 2), 16) % 5 === message.attempts % 5
      return {
        id: message.id,
        leaseToken: message.leaseToken,
        status: retry ? 'pending' : 'sent',
        delayMs: 0,
        counted: true,
        outcome: retry ? 'retryable' : 'ok',
        errorCode: retry ? 'chaos_retry' : null,
        errorMessage: null,
        httpStatus: null,
        latencyMs: 0,
        providerMessageId: null,
      }
    })
    released += (await recordOutcomes(database.pool, results)).length
  }
  console.log(JSON.stringify({ claims, rows, largest, limit, released }))
} finally {
  await database.close()
}
