import { randomUUID } from 'node:crypto'
import type { FastifyInstance, RawRequestDefaultExpression } from 'fastify'

export const REQUEST_ID_HEADER = 'x-request-id'

// A caller's id goes into every log line of its request, so it must be short and plain:
// printable ASCII without spaces, as UUIDs, ULIDs and trace ids are.
const ACCEPTABLE_ID = /^[\x21-\x7e]{1,128}$/

/**
 * Fastify's `genReqId`: the caller's `x-request-id` when it is acceptable, else a new
 * UUID. Use it with `requestIdHeader: false`; with the header option set, Fastify takes
 * any header value as is and calls this only when the header is missing.
 */
export function requestIdOf(request: RawRequestDefaultExpression): string {
  const presented = request.headers[REQUEST_ID_HEADER]
  return typeof presented === 'string' && ACCEPTABLE_ID.test(presented) ? presented : randomUUID()
}

/**
 * Sends the request id back as `x-request-id` on every answer, errors and shed requests
 * included, so a caller can quote it and find the request's log lines (`reqId`).
 * Register it first: a hook that answers early skips the hooks registered after it.
 */
export function echoRequestId(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id)
  })
}
