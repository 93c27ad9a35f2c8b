import fastifyUnderPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import { Counter, type Registry } from 'prom-client'
import { getHeapStatistics } from 'node:v8'

/** Seconds an overloaded process asks callers to wait; pressure is re-measured every second. */
const RETRY_AFTER_SECONDS = 5

// Liveness must not fail because the process is busy: an orchestrator would restart it,
// and the restart sheds all the work in progress. Metrics are how anyone sees the
// overload. /readyz is shed on purpose: failing readiness moves traffic elsewhere.
const NEVER_SHED = new Set(['/healthz', '/metrics'])

export interface LoadSheddingOptions {
  /** Counts shed requests by reason, as sms_outbox_requests_shed_total. */
  registry: Registry
  /**
   * Mean event-loop delay (ms, over one-second samples) above which requests are shed.
   * Past a second, every request already waits that long before its first line runs.
   */
  maxEventLoopDelayMs?: number
  /**
   * Heap in use above which requests are shed. Near V8's limit the process spends its
   * time in GC and then dies of OOM, losing every request in flight.
   */
  maxHeapUsedBytes?: number
}

/**
 * Answers 503 `OVERLOADED` with Retry-After while the process is overloaded, instead of
 * accepting work it would serve too late (callers time out and retry, which adds load).
 * @fastify/under-pressure measures; this only decides the answer. It adds no route.
 * Register it before the routes, so its onRequest hook runs ahead of everything else.
 */
export async function registerLoadShedding(
  app: FastifyInstance,
  {
    registry,
    maxEventLoopDelayMs = 1_000,
    maxHeapUsedBytes = Math.floor(getHeapStatistics().heap_size_limit * 0.9),
  }: LoadSheddingOptions,
): Promise<void> {
  const shed = new Counter({
    name: 'sms_outbox_requests_shed_total',
    help: 'Requests answered 503 OVERLOADED, by what was over its limit',
    labelNames: ['reason'],
    registers: [registry],
  })
  await app.register(fastifyUnderPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    maxHeapUsedBytes,
    // Must not return the reply: under-pressure would send a returned value a second time.
    pressureHandler: (request, reply, reason) => {
      if (request.routeOptions.url !== undefined && NEVER_SHED.has(request.routeOptions.url)) return
      shed.inc({ reason })
      reply
        .code(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({
          statusCode: 503,
          code: 'OVERLOADED',
          error: 'Service Unavailable',
          message: 'the server is overloaded; retry later',
        })
    },
  })
}
