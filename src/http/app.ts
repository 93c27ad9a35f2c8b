import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import fastifyCookie from '@fastify/cookie'
import fastifyEnv from '@fastify/env'
import { randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { configSchema, type Config } from '../config.ts'
import type { Database } from '../db/database.ts'
import { installErrorHandling } from './error-handler.ts'
import type { Alerter } from '../alerts/alerter.ts'
import { loadResultReadyTemplate } from '../sms/result-ready-template.ts'
import { adminRoutes } from './routes/admin-routes.ts'
import { healthRoutes } from './routes/health-routes.ts'
import { messageRoutes } from './routes/message-routes.ts'
import { notificationRoutes } from './routes/notification-routes.ts'
import { validatorCompiler } from './schema-validation.ts'
import { tokenGuard } from './token-guard.ts'

export interface AppOptions {
  /** Settings; missing ones take their defaults, bad ones fail the build. */
  config: Partial<Config>
  database: Database
  logger?: FastifyServerOptions['loggerInstance']
  /** Where an admin's provider resume is announced. */
  alerts?: Alerter
}

/**
 * The HTTP application: plugins, routes and the one error handler, nothing about the
 * process (see main.ts). Tests build it and call `inject`. With ROLE=worker it serves
 * only the health routes.
 */
export async function buildApp({ config, database, logger, alerts }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    // 64 KiB fits the largest single message many times over; the batch route allows more.
    bodyLimit: 64 * 1024,
    requestIdHeader: 'x-request-id',
    requestTimeout: 30_000,
  }).withTypeProvider<TypeBoxTypeProvider>()
  // Fastify's default drops unknown properties and coerces types; a typo'd field or a
  // wrong type should be an error the caller sees.
  app.setValidatorCompiler(validatorCompiler)

  await app.register(fastifyEnv, { schema: configSchema, data: config, dotenv: false })
  const settings = app.getEnvs<Config>()

  installErrorHandling(app)
  await app.register(healthRoutes, { pool: database.pool })
  if (settings.ROLE === 'worker') return app

  await app.register(fastifyCookie)
  const resultReady = await loadResultReadyTemplate(settings.RESULT_READY_TEMPLATE, settings.FRONTEND_URL)
  await app.register(async (callerApi) => {
    if (settings.API_TOKEN) {
      callerApi.addHook('onRequest', tokenGuard({ token: settings.API_TOKEN, setting: 'API_TOKEN' }))
    }
    await callerApi.register(messageRoutes, { config: settings, prisma: database.prisma })
    await callerApi.register(notificationRoutes, { config: settings, prisma: database.prisma, resultReady })
  })
  // Without ADMIN_TOKEN (tests, or a caller that forgot main.ts's generated one), an
  // unguessable token locks the admin routes rather than leaving them open.
  const adminToken = settings.ADMIN_TOKEN ?? randomBytes(32).toString('base64url')
  await app.register(async (adminApi) => {
    adminApi.addHook('onRequest', tokenGuard({ token: adminToken, setting: 'ADMIN_TOKEN', acceptSessionCookie: true }))
    await adminApi.register(adminRoutes, { config: settings, prisma: database.prisma, alerts })
  })
  return app
}
