import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { createHash } from 'node:crypto'
import type { Config } from '../../config.ts'
import type pg from 'pg'
import { enqueueMessages, IdempotencyConflict } from '../../outbox/enqueue.ts'
import { prepareMessage, RESERVED_KEY_PREFIX } from '../../outbox/prepare-message.ts'
import type { ResultReadyTemplate } from '../../sms/result-ready-template.ts'
import { AcceptedMessageSchema, ErrorSchema, ResultReadyRequestSchema } from '../message-schemas.ts'
import { acceptedView } from '../message-view.ts'

// The result page is deleted after 24 hours, so a later SMS would carry a dead link.
const RESULT_LINK_LIFETIME_SECONDS = 24 * 60 * 60

/** Notifications built from templates: the caller names the event, not the text. */
export const notificationRoutes: FastifyPluginAsyncTypebox<{
  config: Config
  pool: pg.Pool
  resultReady: ResultReadyTemplate
}> = async (app, { config, pool, resultReady }) => {
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
          503: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const { to, jobId } = request.body
      const message = prepareMessage(
        { to, text: resultReady.render(jobId), metadata: { notification: 'result-ready', jobId } },
        { defaultMaxRetries: config.RETRY_MAX_RETRIES, smsMaxBytes: config.SMS_MAX_BYTES },
      )
      const idempotencyKey = `${RESERVED_KEY_PREFIX}${jobId}`
      // The job and the number identify the notification, not its text: a template edited
      // between two calls must not turn the second call into a conflict.
      const requestHash = createHash('sha256').update(JSON.stringify([message.to, jobId])).digest('hex')
      try {
        const [result] = await enqueueMessages(
          pool,
          [{ ...message, idempotencyKey, requestHash }],
          RESULT_LINK_LIFETIME_SECONDS,
        )
        return reply.code(result.created ? 202 : 200).send(acceptedView(result.message))
      } catch (error) {
        if (!(error instanceof IdempotencyConflict)) throw error
        throw new IdempotencyConflict(idempotencyKey, `job ${jobId} was already notified to a different number`)
      }
    },
  )
}
