import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type {} from '@fastify/cookie'
import type { AdminSessions } from '../admin/admin-sessions.ts'
import { cookieRequestRefusal } from './same-origin.ts'

/** The admin page's cookie; it holds a random session id (see AdminSessions), never the token. */
export const ADMIN_SESSION_COOKIE = 'sms_outbox_admin'

// Names under which people put tokens in URLs. URLs end up in access logs, proxies and
// browser history, so a token there is refused even when it is right.
const TOKEN_QUERY_NAMES = new Set(['token', 'access_token', 'api_key', 'apikey', 'admin_token', 'api_token'])

/**
 * Compares secrets in constant time. Hashing first gives both sides the same length, so
 * neither the content nor the length of the expected token leaks through timing.
 */
export function sameSecret(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(presented), digest(expected))
}

export interface TokenGuardOptions {
  token: string
  /** Named in the 401 message: `ADMIN_TOKEN` or `API_TOKEN`. */
  setting: string
  /**
   * Also accept the admin page's session cookie, when it names an active session; a
   * change made with it must come from the page itself (see same-origin.ts), or it is 403.
   */
  sessions?: AdminSessions
}

/** An onRequest hook that lets a request through only with the right bearer token (or an admin session). */
export function tokenGuard({ token, setting, sessions }: TokenGuardOptions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const query = (request.query ?? {}) as Record<string, unknown>
    if (Object.keys(query).some((name) => TOKEN_QUERY_NAMES.has(name.toLowerCase()))) {
      return refuse(reply, 'a token in the URL is refused (URLs are kept in logs and browser history); send it as Authorization: Bearer <token>')
    }
    const header = request.headers.authorization
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
      if (match && sameSecret(match[1], token)) return
      return refuse(reply, `the Authorization header must be "Bearer <${setting}>", and the token must match`)
    }
    const cookie = sessions ? request.cookies?.[ADMIN_SESSION_COOKIE] : undefined
    if (cookie !== undefined && sessions) {
      const refusal = cookieRequestRefusal(request)
      if (refusal !== undefined) {
        request.log.warn({ clientAddress: request.ip }, 'admin session cookie refused: not from the admin page')
        return forbid(reply, refusal)
      }
      if (await sessions.isActive(cookie)) return
      return refuse(reply, `the admin session has ended (logged out, expired, or ADMIN_TOKEN changed); log in again, or send Authorization: Bearer <${setting}>`)
    }
    return refuse(reply, `this route needs Authorization: Bearer <${setting}>`)
  }
}

function refuse(reply: FastifyReply, message: string): FastifyReply {
  return reply
    .code(401)
    .header('www-authenticate', 'Bearer realm="sms-outbox"')
    .send({ statusCode: 401, code: 'UNAUTHORIZED', error: 'Unauthorized', message })
}

/** 403: authenticated or not, this request may not do this. */
export function forbid(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(403).send({ statusCode: 403, code: 'FORBIDDEN', error: 'Forbidden', message })
}
