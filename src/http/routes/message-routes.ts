import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type pg from 'pg'
import type { Config } from '../../config.ts'
import type { PrismaClient } from '../../db/database.ts'
import { enqueueMessages } from '../../outbox/enqueue/enqueue.ts'
import { createEnqueueCoalescer } from '../../outbox/enqueue/enqueue-coalescer.ts'
import type { LocalEnqueues } from '../../outbox/enqueue/local-enqueues.ts'
import { findMessage } from '../../outbox/find-message.ts'
import { InvalidMessage, prepareMessage } from '../../outbox/enqueue/prepare-message.ts'
import { RecipientSuppressed } from '../../outbox/enqueue/recipient-suppressed.ts'
import { BatchAcceptedSchema, ErrorSchema, IdempotencyHeadersSchema, MessageIdParamsSchema, SuppressedErrorSchema } from '../message-schemas.ts'
import { AcceptedMessageSchema, BatchRequestSchema, MessageDetailSchema, MessageRequestSchema } from '../../domain/message-schemas.ts'
import { acceptedView, detailView } from '../../admin/message-views.ts'

// 1,000 LMS of 2,000 bytes is about 3 MB of JSON with Hangul; one message is far less.
const BATCH_BODY_LIMIT = 4 * 1024 * 1024

const Errors = { 400: ErrorSchema, 409: ErrorSchema, 413: ErrorSchema, 415: ErrorSchema, 422: SuppressedErrorSchema, 503: ErrorSchema }

/** Submitting messages and reading them back: the caller-facing API. */
export const messageRoutes: FastifyPluginAsyncTypebox<{
  config: Config
  prisma: PrismaClient
  /** The pool under Prisma: the enqueue SQL runs on it directly (see outbox/enqueue/enqueue.ts). */
  pool: pg.Pool
  localEnqueues?: LocalEnqueues
}> = async (app, { config, prisma, pool, localEnqueues }) => {
  // Concurrent single POSTs share one INSERT and one commit; each is answered after it.
  const coalescer = createEnqueueCoalescer(pool, localEnqueues)
  app.addHook('onClose', () => coalescer.drain())

  app.post(
    '/v1/messages',
    {
      schema: {
        summary: 'Accept one message; it is committed before the answer',
        description: 'A number on the suppression list gets 422 RECIPIENT_SUPPRESSED, with the reason, and nothing is written.',
        headers: IdempotencyHeadersSchema,
        body: MessageRequestSchema,
        response: { 200: AcceptedMessageSchema, 202: AcceptedMessageSchema, ...Errors },
      },
    },
    async (request, reply) => {
      const message = prepareMessage(request.body, {
        defaultMaxRetries: config.RETRY_MAX_RETRIES,
        smsMaxBytes: config.SMS_MAX_BYTES,
        idempotencyKey: request.headers['idempotency-key'],
      })
      const result = await coalescer.enqueue(message, config.MESSAGE_TTL_SECONDS)
      // 200 tells a retrying caller that this is the message it created before.
      return reply.code(result.created ? 202 : 200).send(acceptedView(result.message))
    },
  )

  app.post(
    '/v1/messages/batch',
    {
      bodyLimit: BATCH_BODY_LIMIT,
      schema: {
        summary: 'Accept up to 1,000 messages, all or none; one result per message, in order',
        description: 'A number on the suppression list fails the whole batch with 422, naming the first such item.',
        body: BatchRequestSchema,
        response: { 202: BatchAcceptedSchema, ...Errors },
      },
    },
    async (request, reply) => {
      const messages = request.body.messages.map(({ idempotencyKey, ...item }, index) => {
        try {
          return prepareMessage(item, {
            defaultMaxRetries: config.RETRY_MAX_RETRIES,
            smsMaxBytes: config.SMS_MAX_BYTES,
            idempotencyKey,
          })
        } catch (error) {
          throw error instanceof InvalidMessage ? error.within(`messages/${index}`) : error
        }
      })
      const enqueued = enqueueMessages(pool, messages, config.MESSAGE_TTL_SECONDS)
      const results = await (localEnqueues?.track(enqueued) ?? enqueued).catch((error: unknown) => {
        throw error instanceof RecipientSuppressed && error.index !== undefined ? error.within(`messages/${error.index}`) : error
      })
      return reply.code(202).send({
        messages: results.map((result) => ({ ...acceptedView(result.message), created: result.created })),
      })
    },
  )

  app.get(
    '/v1/messages/:id',
    {
      schema: {
        summary: 'One message with every attempt',
        params: MessageIdParamsSchema,
        response: { 200: MessageDetailSchema, 404: ErrorSchema, 400: ErrorSchema, 503: ErrorSchema },
      },
    },
    async (request, reply) => {
      const found = await findMessage(prisma, request.params.id)
      if (!found) {
        return reply.code(404).send({
          statusCode: 404,
          code: 'MESSAGE_NOT_FOUND',
          error: 'Not Found',
          message: `no message ${request.params.id}`,
        })
      }
      return detailView(found.message, found.attempts)
    },
  )
}
