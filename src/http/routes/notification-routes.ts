import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Config } from '../../config.ts'
import type pg from 'pg'
import { enqueueMessages, IdempotencyConflict } from '../../outbox/enqueue/enqueue.ts'
import type { LocalEnqueues } from '../../outbox/enqueue/local-enqueues.ts'
import {
  RESULT_LINK_LIFETIME_SECONDS,
  resultReadyConflict,
  resultReadyMessage,
} from '../../notifications/result-ready-notification.ts'
import type { ResultReadyTemplate } from '../../sms/result-ready-template.ts'
import { ErrorSchema, SuppressedErrorSchema } from '../message-schemas.ts'
import { AcceptedMessageSchema, ResultReadyRequestSchema } from '../../domain/message-schemas.ts'
import { acceptedView } from '../../admin/message-views.ts'

/** Notifications built from templates: the caller names the event, not the text. */
export const notificationRoutes: FastifyPluginAsyncTypebox<{
  config: Config
  pool: pg.Pool
  resultReady: ResultReadyTemplate
  localEnqueues?: LocalEnqueues
}> = async (app, { config, pool, resultReady, localEnqueues }) => {
  app.post(
    '/v1/notifications/result-ready',
    {
      schema: {
        summary: 'Tell a user their result is ready: one message per jobId, expiring with the link',
        body: ResultReadyRequestSchema,
        response: {
          200: AcceptedMessageSchema,
          202: AcceptedMessageSchema,
          400: ErrorSchema,
          409: ErrorSchema,
          422: SuppressedErrorSchema,
          503: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const message = resultReadyMessage(request.body, resultReady, {
        defaultMaxRetries: config.RETRY_MAX_RETRIES,
        smsMaxBytes: config.SMS_MAX_BYTES,
      })
      try {
        const enqueued = enqueueMessages(pool, [message], RESULT_LINK_LIFETIME_SECONDS)
        const [result] = await (localEnqueues?.track(enqueued) ?? enqueued)
        return reply.code(result.created ? 202 : 200).send(acceptedView(result.message))
      } catch (error) {
        if (!(error instanceof IdempotencyConflict)) throw error
        throw resultReadyConflict(request.body.jobId)
      }
    },
  )
}
