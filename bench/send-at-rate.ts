import { Pool } from 'undici'
import type { FakeProvider } from './fake-provider.ts'
import { sleep, waitUntil } from './measure.ts'

// A typical OTP text: Hangul, so the EUC-KR measuring runs as it does for real traffic.
export const MESSAGE = { to: '010-1234-5678', text: '[sms-outbox] 인증번호 [482913]를 입력해 주세요.' }

export interface RateOptions {
  serviceUrl: string
  ratePerSecond: number
  seconds: number
  warmupSeconds: number
}

/** Each message's lag (enqueue request sent -> the provider has it), and each 202's latency, in ms. */
export interface RateSamples {
  lags: number[]
  warmupLags: number[]
  enqueueMs: number[]
}

/**
 * Open-loop load: `ratePerSecond` single POSTs, each stamped when sent, to a service that
 * also dispatches to `provider`, which stamps each receipt on the same clock. The first
 * `warmupSeconds` at the same rate come back apart; `onWarm` is told when they are over.
 */
export async function sendAtRate(
  provider: FakeProvider,
  { serviceUrl, ratePerSecond, seconds, warmupSeconds }: RateOptions,
  onWarm: () => void,
): Promise<RateSamples> {
  const pool = new Pool(serviceUrl, { connections: 256, pipelining: 1 })
  const warmup = Math.round(ratePerSecond * warmupSeconds)
  const total = warmup + Math.round(ratePerSecond * seconds)
  const sentAt = new Float64Array(total)
  const receivedAt = new Float64Array(total).fill(Number.NaN)
  const enqueueMs: number[] = []
  const failures: string[] = []
  let received = 0
  provider.onMessage = (text, at) => {
    const seq = Number(text.slice(text.lastIndexOf(' ') + 1))
    if (Number.isNaN(receivedAt[seq])) {
      receivedAt[seq] = at
      received += 1
    }
  }
  const inFlight = new Set<Promise<void>>()
  const send = (seq: number) => {
    if (seq === warmup) onWarm()
    const started = performance.now()
    sentAt[seq] = started
    const request = pool
      .request({
        path: '/v1/messages',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: MESSAGE.to, text: `bench lag ${seq}` }),
      })
      .then(async (response) => {
        await response.body.text()
        if (response.statusCode !== 202) failures.push(`HTTP ${response.statusCode}`)
        else if (seq >= warmup) enqueueMs.push(performance.now() - started)
      })
      .catch((error: unknown) => void failures.push(String(error)))
      .finally(() => inFlight.delete(request))
    inFlight.add(request)
  }
  try {
    const started = performance.now()
    let next = 0
    while (next < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) * ratePerSecond) / 1000) + 1)
      while (next < due) send(next++)
      await sleep(1)
    }
    await Promise.all(inFlight)
    if (failures.length > 0) throw new Error(`${failures.length} enqueue requests failed, e.g. ${failures[0]}`)
    await waitUntil(() => received >= total, `the provider has all ${total} messages`, 60_000, 10)
  } finally {
    provider.onMessage = undefined
    await pool.close()
  }
  const lagOf = (seq: number) => receivedAt[seq] - sentAt[seq]
  return {
    lags: Array.from({ length: total - warmup }, (_, i) => lagOf(warmup + i)),
    warmupLags: Array.from({ length: warmup }, (_, i) => lagOf(i)),
    enqueueMs,
  }
}
