import type { FastifyError, FastifyInstance } from 'fastify'
import { InvalidFilter } from '../admin/invalid-filter.ts'
import { isDatabaseUnavailable } from '../db/database-unavailable.ts'
import { IdempotencyConflict } from '../outbox/enqueue/enqueue.ts'
import { InvalidMessage } from '../outbox/enqueue/prepare-message.ts'
import { RecipientSuppressed } from '../outbox/enqueue/recipient-suppressed.ts'

/** Seconds a caller should wait before retrying when the database is unavailable. */
const RETRY_AFTER_SECONDS = 5

// Fastify's own codes for problems with the request itself, renamed to this API's codes.
const REQUEST_ERROR_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

/**
 * Every error becomes `{statusCode, code, error, message}`: 4xx for what the caller can
 * fix, 503 with Retry-After when the database is unavailable, and a 500 that reveals
 * nothing for the rest (the log has the details).
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const send = (statusCode: number, code: string, message: string) =>
      reply.code(statusCode).send({ statusCode, code, error: STATUS_TEXT[statusCode] ?? 'Error', message })

    if (error.validation) return send(400, 'VALIDATION_FAILED', error.message)
    if (error instanceof InvalidMessage) return send(400, 'INVALID_MESSAGE', error.message)
    if (error instanceof InvalidFilter) return send(400, 'INVALID_FILTER', error.message)
    if (error instanceof IdempotencyConflict) return send(409, 'IDEMPOTENCY_CONFLICT', error.message)
    // Well-formed and valid, but the number may not be texted: 422, with the reason as a
    // field so that a caller can tell an opt-out from a bad number without parsing text.
    if (error instanceof RecipientSuppressed) {
      const statusCode = 422
      return reply.code(statusCode).send({
        statusCode,
        code: 'RECIPIENT_SUPPRESSED',
        error: STATUS_TEXT[statusCode],
        message: error.message,
        reason: error.reason,
      })
    }
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable')
      reply.header('retry-after', String(RETRY_AFTER_SECONDS))
      return send(503, 'DATABASE_UNAVAILABLE', 'the database is unavailable; retry later')
    }
    const statusCode = error.statusCode ?? 500
    if (statusCode >= 400 && statusCode < 500) {
      return send(statusCode, REQUEST_ERROR_CODES[error.code] ?? 'BAD_REQUEST', error.message)
    }
    request.log.error({ err: error }, 'request failed')
    return send(500, 'INTERNAL_ERROR', 'internal error; the server log has the details')
  })

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      statusCode: 404,
      code: 'ROUTE_NOT_FOUND',
      error: 'Not Found',
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
    }),
  )
}
