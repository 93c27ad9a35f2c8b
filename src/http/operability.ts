import type { FastifyInstance } from 'fastify'
import type { OutboxMetrics } from '../metrics/outbox-metrics.ts'
import { registerLoadShedding, type LoadSheddingOptions } from './load-shedding.ts'
import { registerOpenApi } from './openapi.ts'
import { echoRequestId } from './request-id.ts'
import { metricsRoutes } from './routes/metrics-routes.ts'

export interface OperabilityOptions {
  metrics: OutboxMetrics
  /** API_TOKEN is set; the API document marks the caller-facing routes as needing it. */
  apiTokenRequired: boolean
  /** METRICS_TOKEN: `/metrics` needs it as a bearer token; unset, it is open. */
  metricsToken?: string
  loadShedding?: Omit<LoadSheddingOptions, 'registry'>
}

/**
 * What operators need from every process, API or worker: request ids echoed, load shed
 * under pressure, `/metrics`, and the API document at `/docs`. Call it before registering
 * any other route: the docs learn routes as they are added, and the hooks here must run
 * ahead of the routes'.
 */
export async function registerOperability(
  app: FastifyInstance,
  { metrics, apiTokenRequired, metricsToken, loadShedding = {} }: OperabilityOptions,
): Promise<void> {
  echoRequestId(app)
  await registerLoadShedding(app, { registry: metrics.registry, ...loadShedding })
  await registerOpenApi(app, { apiTokenRequired, metricsTokenRequired: metricsToken !== undefined })
  await app.register(metricsRoutes, { registry: metrics.registry, token: metricsToken })
}
