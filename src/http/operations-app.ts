import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyServerOptions } from 'fastify'
import type pg from 'pg'
import { trustProxyOf, type Config } from '../config.ts'
import { createOutboxMetrics, type OutboxMetrics } from '../metrics/outbox-metrics.ts'
import { OneLinePerRequest } from './access-log.ts'
import { installErrorHandling } from './error-handler.ts'
import { registerOperability } from './operability.ts'
import { requestIdOf } from './request-id.ts'
import { healthRoutes } from './routes/health-routes.ts'
import { validatorCompiler } from './schema-validation.ts'

export interface OperationsAppOptions {
  config: Config
  pool: pg.Pool
  logger?: FastifyServerOptions['loggerInstance']
  /** This process's metrics, shared with its dispatcher; omitted (tests), the app makes its own. */
  metrics?: OutboxMetrics
}

/**
 * What every process serves, API or worker: the health routes and `/metrics`, with
 * request ids, load shedding and the one error handler. A `ROLE=worker` process serves
 * only this, and so never loads the API's and the admin page's modules (nor Prisma).
 * buildApp adds the API to it.
 */
export async function buildOperationsApp({ config, pool, logger, metrics }: OperationsAppOptions) {
  const app = Fastify({
    loggerInstance: logger,
    // Which proxies' X-Forwarded-For/-Proto/-Host to believe: request.ip (the login limit)
    // and request.protocol (the Secure cookie) come from them.
    trustProxy: trustProxyOf(config.TRUST_PROXY),
    // 64 KiB fits the largest single message many times over; the batch route allows more.
    bodyLimit: 64 * 1024,
    // requestIdOf reads x-request-id itself: an id unfit for the logs is replaced by a UUID.
    requestIdHeader: false,
    genReqId: requestIdOf,
    requestTimeout: 30_000,
    logController: new OneLinePerRequest(),
  }).withTypeProvider<TypeBoxTypeProvider>()
  // Fastify's default drops unknown properties and coerces types; a typo'd field or a
  // wrong type should be an error the caller sees.
  app.setValidatorCompiler(validatorCompiler)

  installErrorHandling(app)
  // Before any route: the API document learns the routes as they are added, and the
  // request-id and load-shedding hooks must run ahead of every route's own hooks.
  const outboxMetrics = metrics ?? createOutboxMetrics({ pool, log: app.log })
  await registerOperability(app, {
    metrics: outboxMetrics,
    apiTokenRequired: config.API_TOKEN !== undefined,
    metricsToken: config.METRICS_TOKEN,
  })
  await app.register(healthRoutes, { pool })
  return { app, metrics: outboxMetrics }
}
