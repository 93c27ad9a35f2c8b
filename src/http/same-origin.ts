import type { FastifyRequest } from 'fastify'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Why a request that a cookie authenticates may not change anything, or undefined when it
 * may. SameSite=Strict alone still lets another origin on the same site (a sibling
 * subdomain, another port) post with the cookie, and a `text/plain` form or fetch needs no
 * CORS preflight. So an unsafe method must come from this server's own pages, as the
 * browser tells (`Sec-Fetch-Site: same-origin`, or, from a browser too old to send it, an
 * `Origin` equal to this server's), and carry JSON or no body at all.
 */
export function cookieRequestRefusal(request: FastifyRequest): string | undefined {
  if (SAFE_METHODS.has(request.method)) return undefined
  if (!fromOwnOrigin(request)) {
    return 'a change made with the admin session cookie must come from the admin page (Sec-Fetch-Site: same-origin); scripts send Authorization: Bearer <ADMIN_TOKEN>'
  }
  const contentType = request.headers['content-type']
  if (contentType !== undefined && mediaType(contentType) !== 'application/json') {
    return 'a change made with the admin session cookie takes a JSON body or none'
  }
  return undefined
}

/** Whether a browser sent this request from a page of this server's own origin. */
export function fromOwnOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site']
  if (site !== undefined) return site === 'same-origin'
  const origin = request.headers.origin
  return origin !== undefined && origin === `${request.protocol}://${request.host}`
}

const mediaType = (contentType: string) => contentType.split(';')[0].trim().toLowerCase()
