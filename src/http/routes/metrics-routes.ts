import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Registry } from 'prom-client'
import { Type } from 'typebox'
import { tokenGuard } from '../token-guard.ts'

/**
 * `GET /metrics` in Prometheus text format: counts and latencies, no message content.
 * With `token` (METRICS_TOKEN) it needs `Authorization: Bearer <token>`, which Prometheus
 * sends from a scrape job's `authorization` block; without, it is open, as scrapers expect.
 */
export const metricsRoutes: FastifyPluginAsyncTypebox<{ registry: Registry; token?: string }> = async (app, { registry, token }) => {
  if (token !== undefined) app.addHook('onRequest', tokenGuard({ token, setting: 'METRICS_TOKEN' }))
  app.get(
    '/metrics',
    {
      // A scrape every few seconds would bury the request log.
      logLevel: 'warn',
      schema: {
        summary: 'Prometheus metrics: outbox backlog, provider attempts and latency, process',
        tags: ['operations'],
        produces: [registry.contentType],
        response: { 200: Type.String({ description: 'Prometheus text exposition format' }) },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  )
}
