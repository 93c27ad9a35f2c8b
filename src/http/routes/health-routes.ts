import type { FastifyPluginAsync } from 'fastify'
import type pg from 'pg'
import { pendingMigrations } from '../../db/migrations.ts'

/**
 * `/healthz`: the process serves HTTP (restart it if not). `/readyz`: it can do its work,
 * the database answers and has every migration (send traffic elsewhere if not).
 */
export const healthRoutes: FastifyPluginAsync<{ pool: pg.Pool }> = async (app, { pool }) => {
  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (request, reply) => {
    try {
      const pending = await pendingMigrations(pool)
      if (pending.length > 0) {
        return reply.code(503).send({ status: 'migrations pending', pending })
      }
      return { status: 'ready' }
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed')
      return reply.code(503).header('retry-after', '5').send({ status: 'database unavailable' })
    }
  })
}
