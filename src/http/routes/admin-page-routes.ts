import fastifyFormbody from '@fastify/formbody'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { AdminSessions } from '../../admin/admin-sessions.ts'
import { admitLoginAttempt, forgetLoginAttempt } from '../../admin/login-throttle.ts'
import type { PrismaClient } from '../../db/database.ts'
import { fromOwnOrigin } from '../same-origin.ts'
import { ADMIN_SESSION_COOKIE, forbid, sameSecret } from '../token-guard.ts'

export interface AdminPageOptions {
  adminToken: string
  /** Where logins start sessions and logouts end them. */
  sessions: AdminSessions
  /** Where failed logins are counted, for the per-address limit. */
  prisma: PrismaClient
}

// Everything the page loads comes from this server; no inline script or style, so an
// injected string can never run even if some text slipped past textContent.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
].join('; ')

const PAGE_FILES = new URL('../admin-page/', import.meta.url)

// The assets hold no data, so they are public; the login form needs the stylesheet.
const ASSETS = {
  'admin.js': 'text/javascript; charset=utf-8',
  'admin.css': 'text/css; charset=utf-8',
} as const

// The charting library, served from node_modules by this server (no CDN: the CSP allows
// only 'self'). uPlot draws on a canvas and sets styles through the CSSOM, which the CSP
// allows, never through style attributes or <style> elements.
const VENDOR_ASSETS = {
  'uplot.js': { file: 'uplot/dist/uPlot.iife.min.js', contentType: 'text/javascript; charset=utf-8' },
  'uplot.css': { file: 'uplot/dist/uPlot.min.css', contentType: 'text/css; charset=utf-8' },
} as const

/**
 * The admin web page at `/admin` over the admin JSON API, with a login form that turns
 * ADMIN_TOKEN into the `sms_outbox_admin` session cookie the API's guard accepts: a random
 * session id that the server can end (logout, 12 h expiry, a new ADMIN_TOKEN). The token
 * is taken from a bearer header or the login form, never from the URL; failed logins are
 * limited per client address.
 */
export const adminPageRoutes: FastifyPluginAsync<AdminPageOptions> = async (app, { adminToken, sessions, prisma }) => {
  if (!app.hasReplyDecorator('setCookie')) throw new Error('adminPageRoutes needs @fastify/cookie registered before it')
  // Form bodies only in this scope: the JSON API keeps answering 415 to them.
  await app.register(fastifyFormbody)

  const page = await readFile(new URL('index.html', PAGE_FILES), 'utf8')
  const assets = new Map<string, string>()
  for (const name of Object.keys(ASSETS)) assets.set(name, await readFile(new URL(name, PAGE_FILES), 'utf8'))
  const resolvePackageFile = createRequire(import.meta.url).resolve
  const vendorAssets = new Map<string, string>()
  for (const [name, { file }] of Object.entries(VENDOR_ASSETS)) {
    vendorAssets.set(name, await readFile(resolvePackageFile(file), 'utf8'))
  }

  const signedIn = async (request: FastifyRequest): Promise<boolean> => {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')
    if (bearer) return sameSecret(bearer[1], adminToken)
    const cookie = request.cookies?.[ADMIN_SESSION_COOKIE]
    return cookie !== undefined && (await sessions.isActive(cookie))
  }

  app.get('/admin', { schema: { summary: 'The admin web page; without a session, a login form (401)' } }, async (request, reply) => {
    if (!(await signedIn(request))) return sendHtml(reply, 401, loginForm())
    return sendHtml(reply, 200, page)
  })

  app.post(
    '/admin/login',
    {
      schema: {
        summary: 'Form login with ADMIN_TOKEN: starts a session (cookie), 303 to /admin; 10 failures a minute per address, then 429',
        security: [],
      },
    },
    async (request, reply) => {
      // The address only, never what was typed: a mistyped token is close to the real one.
      // A client on a unix socket has no address; such clients share one count.
      const clientAddress = request.ip || 'unix-socket'
      const admission = await admitLoginAttempt(prisma, clientAddress)
      if (!admission.admitted) {
        request.log.warn({ clientAddress }, 'admin page login refused: too many failed logins from this address')
        reply.header('retry-after', String(admission.retryAfterSeconds))
        return sendHtml(reply, 429, loginForm(`Too many failed logins; try again in ${admission.retryAfterSeconds} seconds.`))
      }
      const body = request.body as { token?: unknown } | undefined
      const presented = typeof body?.token === 'string' ? body.token : ''
      if (!sameSecret(presented, adminToken)) {
        request.log.warn({ clientAddress }, 'admin page login refused: wrong token')
        return sendHtml(reply, 401, loginForm('That token is not ADMIN_TOKEN.'))
      }
      await forgetLoginAttempt(prisma, admission.attemptId)
      const sessionId = await sessions.start()
      reply.setCookie(ADMIN_SESSION_COOKIE, sessionId, { ...cookieAttributes(request), maxAge: sessions.lifetimeSeconds })
      return reply.code(303).header('location', '/admin').send()
    },
  )

  app.post(
    '/admin/logout',
    { schema: { summary: 'Ends the session and clears its cookie, 303 to /admin', security: [] } },
    async (request, reply) => {
      const cookie = request.cookies?.[ADMIN_SESSION_COOKIE]
      if (cookie !== undefined) {
        // Another origin on the same site must not be able to log the admin out either.
        if (!fromOwnOrigin(request)) return forbid(reply, 'log out from the admin page')
        await sessions.end(cookie)
      }
      reply.clearCookie(ADMIN_SESSION_COOKIE, cookieAttributes(request))
      return reply.code(303).header('location', '/admin').send()
    },
  )

  for (const [name, contentType] of Object.entries(ASSETS)) {
    app.get(`/admin/${name}`, { schema: { hide: true } }, async (_request, reply) =>
      reply
        .header('content-type', contentType)
        .header('x-content-type-options', 'nosniff')
        // Revalidate every time: a deploy must not leave an old script talking to a new API.
        .header('cache-control', 'no-cache')
        .send(assets.get(name)),
    )
  }
  for (const [name, { contentType }] of Object.entries(VENDOR_ASSETS)) {
    app.get(`/admin/vendor/${name}`, { schema: { hide: true } }, async (_request, reply) =>
      reply
        .header('content-type', contentType)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-cache')
        .send(vendorAssets.get(name)),
    )
  }
}

function cookieAttributes(request: FastifyRequest) {
  // SameSite=Strict keeps the cookie off every cross-site request; same-site requests from
  // other origins are refused by the same-origin check (same-origin.ts). Secure whenever the
  // request came over https, which behind a proxy Fastify knows only with TRUST_PROXY.
  return { path: '/', httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https' } as const
}

function sendHtml(reply: FastifyReply, statusCode: number, html: string): FastifyReply {
  return reply
    .code(statusCode)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .send(html)
}

/** The login page. `error` is one of this module's fixed sentences, never request data. */
function loginForm(error?: string): string {
  const errorLine = error ? `\n    <p class="error" role="alert" data-testid="login-error">${error}</p>` : ''
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>SMS outbox admin: log in</title>
  <link rel="stylesheet" href="/admin/admin.css">
</head>
<body>
  <main class="login">
    <h1>SMS outbox admin</h1>
    <form method="post" action="/admin/login" id="login-form" data-testid="login-form">
      <label for="token">Admin token (ADMIN_TOKEN, printed at boot)</label>
      <input type="password" id="token" name="token" autocomplete="current-password" required autofocus>
      <button type="submit" id="login-submit">Log in</button>
    </form>${errorLine}
  </main>
</body>
</html>
`
}
