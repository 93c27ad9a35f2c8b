import fastifyFormbody from '@fastify/formbody'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { ADMIN_SESSION_COOKIE, adminSessionValue, sameSecret } from '../token-guard.ts'

export interface AdminPageOptions {
  adminToken: string
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

// A browser that restores its session would keep a session cookie for weeks; 12 hours
// bounds that to a working day. The value itself stays valid until ADMIN_TOKEN changes.
const SESSION_MAX_AGE_SECONDS = 12 * 60 * 60

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
 * ADMIN_TOKEN into the `sms_outbox_admin` session cookie the API's guard accepts. The
 * token is taken from a bearer header, the cookie or the login form, never from the URL.
 */
export const adminPageRoutes: FastifyPluginAsync<AdminPageOptions> = async (app, { adminToken }) => {
  if (!app.hasReplyDecorator('setCookie')) throw new Error('adminPageRoutes needs @fastify/cookie registered before it')
  // Form bodies only in this scope: the JSON API keeps answering 415 to them.
  await app.register(fastifyFormbody)

  const session = adminSessionValue(adminToken)
  const page = await readFile(new URL('index.html', PAGE_FILES), 'utf8')
  const assets = new Map<string, string>()
  for (const name of Object.keys(ASSETS)) assets.set(name, await readFile(new URL(name, PAGE_FILES), 'utf8'))
  const resolvePackageFile = createRequire(import.meta.url).resolve
  const vendorAssets = new Map<string, string>()
  for (const [name, { file }] of Object.entries(VENDOR_ASSETS)) {
    vendorAssets.set(name, await readFile(resolvePackageFile(file), 'utf8'))
  }

  const signedIn = (request: FastifyRequest): boolean => {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')
    if (bearer) return sameSecret(bearer[1], adminToken)
    const cookie = request.cookies?.[ADMIN_SESSION_COOKIE]
    return cookie !== undefined && sameSecret(cookie, session)
  }

  app.get('/admin', { schema: { summary: 'The admin web page; without a session, a login form (401)' } }, async (request, reply) => {
    if (!signedIn(request)) return sendHtml(reply, 401, loginForm())
    return sendHtml(reply, 200, page)
  })

  app.post(
    '/admin/login',
    { schema: { summary: 'Form login with ADMIN_TOKEN: sets the session cookie, 303 to /admin', security: [] } },
    async (request, reply) => {
      const body = request.body as { token?: unknown } | undefined
      const presented = typeof body?.token === 'string' ? body.token : ''
      if (!sameSecret(presented, adminToken)) {
        request.log.warn('admin page login refused: wrong token')
        return sendHtml(reply, 401, loginForm('That token is not ADMIN_TOKEN.'))
      }
      reply.setCookie(ADMIN_SESSION_COOKIE, session, { ...cookieAttributes(request), maxAge: SESSION_MAX_AGE_SECONDS })
      return reply.code(303).header('location', '/admin').send()
    },
  )

  app.post(
    '/admin/logout',
    { schema: { summary: 'Clears the session cookie, 303 to /admin', security: [] } },
    async (request, reply) => {
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
  // SameSite=Strict keeps the cookie off every cross-site request, which is what makes a
  // cookie-authenticated POST to the admin API safe without a CSRF token.
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
