import fastifyCookie from '@fastify/cookie'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import type { Config } from '../config.ts'
import type { Database } from '../db/database.ts'
import type { OutboxMetrics } from '../metrics/outbox-metrics.ts'
import type { LocalEnqueues } from '../outbox/enqueue/local-enqueues.ts'
import { buildOperationsApp } from './operations-app.ts'
import { AdminSessions } from '../admin/admin-sessions.ts'
import type { Alerter } from '../alerts/alerter.ts'
import { loadResultReadyTemplate } from '../sms/result-ready-template.ts'
import { adminPageRoutes } from './routes/admin-page-routes.ts'
import { adminRoutes } from './routes/admin-routes.ts'
import { messageRoutes } from './routes/message-routes.ts'
import { notificationRoutes } from './routes/notification-routes.ts'
import { receiptRoutes } from './routes/receipt-routes.ts'
import { twilioReceiptUrl } from '../providers/twilio-status-callback.ts'
import { tokenGuard } from './token-guard.ts'

export interface AppOptions {
  /**
   * Settings as loadConfig validated them: the one check every process (API, worker, CLI,
   * library) makes, so the app does not check them again.
   */
  config: Config
  database: Database
  logger?: FastifyServerOptions['loggerInstance']
  /** Where an admin's provider resume is announced. */
  alerts?: Alerter
  /** This process's metrics, shared with its dispatcher; omitted (tests), the app makes its own. */
  metrics?: OutboxMetrics
  /** With a dispatcher in this process (ROLE=all): every enqueue goes through it, to wake that dispatcher. */
  localEnqueues?: LocalEnqueues
}

/**
 * The HTTP application: plugins, routes and the one error handler, nothing about the
 * process (see main.ts). Tests build it and call `inject`. With ROLE=worker it is the
 * operations app alone (main.ts builds that one directly for a worker).
 */
export async function buildApp({ config, database, logger, alerts, metrics, localEnqueues }: AppOptions): Promise<FastifyInstance> {
  const { app, metrics: outboxMetrics } = await buildOperationsApp({ config, pool: database.pool, logger, metrics })
  if (config.ROLE === 'worker') return app

  await app.register(fastifyCookie)
  const resultReady = await loadResultReadyTemplate(config.RESULT_READY_TEMPLATE, config.FRONTEND_URL)
  await app.register(async (callerApi) => {
    if (config.API_TOKEN) {
      callerApi.addHook('onRequest', tokenGuard({ token: config.API_TOKEN, setting: 'API_TOKEN' }))
    }
    await callerApi.register(messageRoutes, { config, prisma: database.prisma, pool: database.pool, localEnqueues })
    await callerApi.register(notificationRoutes, { config, pool: database.pool, resultReady, localEnqueues })
  })
  // Outside the API_TOKEN guard: the provider signs its callbacks instead.
  const twilioCallbackUrl = twilioReceiptUrl(config.PUBLIC_URL)
  if (twilioCallbackUrl && config.TWILIO_AUTH_TOKEN) {
    await app.register(receiptRoutes, {
      pool: database.pool,
      twilioAuthToken: config.TWILIO_AUTH_TOKEN,
      twilioCallbackUrl,
      metrics: outboxMetrics,
      alerts,
    })
  }
  // main.ts always passes one (it makes one up and prints it when ADMIN_TOKEN is unset);
  // without it, here, there is no admin surface at all rather than one nobody can open.
  const adminToken = config.ADMIN_TOKEN
  if (adminToken === undefined) return app
  const sessions = new AdminSessions(database.prisma, adminToken)
  await app.register(async (adminApi) => {
    adminApi.addHook('onRequest', tokenGuard({ token: adminToken, setting: 'ADMIN_TOKEN', sessions }))
    await adminApi.register(adminRoutes, { config, prisma: database.prisma, pool: database.pool, alerts })
  })
  await app.register(adminPageRoutes, { adminToken, sessions, prisma: database.prisma })
  return app
}
