import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Registry } from 'prom-client'
import { Type } from 'typebox'

/**
 * `GET /metrics` in Prometheus text format. Unauthenticated, as Prometheus scrapers
 * expect; it shows counts and latencies, no message content. Keep it off the public
 * internet (network policy or the proxy) if the counts themselves are sensitive.
 */
export const metricsRoutes: FastifyPluginAsyncTypebox<{ registry: Registry }> = async (app, { registry }) => {
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
