import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import type { RateOptions, RateSamples } from './send-at-rate.ts'

/**
 * The fake provider and the lag phase's sender, in their own process (bench/far-end.ts
 * says why). Every request is one message to it and one answer back.
 */
export interface FarEnd {
  pid: number
  /** The webhook's URL. */
  url: string
  solapiBaseUrl: string
  /** Messages received and provider calls so far. */
  counts(): Promise<{ received: number; requests: number }>
  /** Resolves once `count` messages have arrived in all; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs: number): Promise<void>
  /** What `work` returned, and when (ms, the far end's clock) each message that arrived meanwhile did. */
  receiptsDuring<T>(work: () => Promise<T>): Promise<{ result: T; receipts: number[] }>
  /** Open-loop load at a steady rate through a service to the provider (send-at-rate.ts). */
  sendAtRate(options: RateOptions, onWarm: () => void): Promise<RateSamples>
  close(): Promise<void>
}

type Reply = { id: number; result?: unknown; error?: string } | { event: 'ready'; url: string; solapiBaseUrl: string } | { event: 'warm' }

export async function startFarEnd(): Promise<FarEnd> {
  // Under tsx as the bench runs (its --import is in execArgv).
  const child = fork(fileURLToPath(new URL('./far-end.ts', import.meta.url)), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  let nextId = 0
  let onWarm: (() => void) | undefined
  const ready = new Promise<{ url: string; solapiBaseUrl: string }>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`the far end exited with ${code} before it was ready`)))
    child.on('message', (reply: Reply) => {
      if ('id' in reply) {
        const waiting = pending.get(reply.id)
        pending.delete(reply.id)
        if (reply.error !== undefined) waiting?.reject(new Error(`far end: ${reply.error}`))
        else waiting?.resolve(reply.result)
      } else if (reply.event === 'ready') resolve(reply)
      else onWarm?.()
    })
  })
  child.on('exit', (code) => {
    for (const { reject } of pending.values()) reject(new Error(`the far end exited with ${code}`))
    pending.clear()
  })
  const ask = <T>(request: string, args?: unknown) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      child.send({ id, request, args })
    })
  const { url, solapiBaseUrl } = await ready
  return {
    pid: child.pid!,
    url,
    solapiBaseUrl,
    counts: () => ask('counts'),
    waitFor: (count, timeoutMs) => ask('waitFor', { count, timeoutMs }),
    async receiptsDuring(work) {
      await ask('recordReceipts')
      try {
        const result = await work()
        return { result, receipts: await ask<number[]>('takeReceipts') }
      } catch (error) {
        await ask('takeReceipts')
        throw error
      }
    },
    async sendAtRate(options, warm) {
      onWarm = warm
      try {
        return await ask<RateSamples>('sendAtRate', options)
      } finally {
        onWarm = undefined
      }
    },
    async close() {
      if (child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.disconnect()
      await exited
    },
  }
}
