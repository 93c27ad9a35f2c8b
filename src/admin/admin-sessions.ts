import { createHmac, randomBytes } from 'node:crypto'
import type { PrismaClient } from '../db/database.ts'

/** How long an admin page session lasts, from login: a working day. */
export const ADMIN_SESSION_SECONDS = 12 * 60 * 60

// 32 random bytes in base64url; anything else is no session id and costs no query.
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/

/**
 * The admin page's sessions, kept in `admin_sessions` so that logout and expiry are the
 * server's decision, not the browser's. The cookie holds a random id; the table holds only
 * its HMAC keyed with ADMIN_TOKEN, so that a database reader cannot make a cookie from a
 * row, and a new ADMIN_TOKEN matches no row: rotating the token ends every session.
 */
export class AdminSessions {
  readonly #prisma: PrismaClient
  readonly #adminToken: string
  readonly #lifetimeSeconds: number

  constructor(prisma: PrismaClient, adminToken: string, { lifetimeSeconds = ADMIN_SESSION_SECONDS } = {}) {
    this.#prisma = prisma
    this.#adminToken = adminToken
    this.#lifetimeSeconds = lifetimeSeconds
  }

  get lifetimeSeconds(): number {
    return this.#lifetimeSeconds
  }

  /** A new session; returns the id for the cookie. Deletes expired sessions on the way. */
  async start(): Promise<string> {
    const id = randomBytes(32).toString('base64url')
    // Logins are rare, and the index on expires_at makes this a short range scan.
    await this.#prisma.$executeRaw`DELETE FROM sms_outbox.admin_sessions WHERE expires_at <= now()`
    await this.#prisma.$executeRaw`
      INSERT INTO sms_outbox.admin_sessions (session_hash, expires_at)
      VALUES (${this.#hash(id)}, now() + ${this.#lifetimeSeconds}::int * interval '1 second')`
    return id
  }

  /** Whether `id` names a session that has not expired or ended, under the current ADMIN_TOKEN. */
  async isActive(id: string): Promise<boolean> {
    if (!SESSION_ID.test(id)) return false
    const rows = await this.#prisma.$queryRaw<unknown[]>`
      SELECT 1 FROM sms_outbox.admin_sessions WHERE session_hash = ${this.#hash(id)} AND expires_at > now()`
    return rows.length > 0
  }

  /** Ends the session `id` (logout); harmless for an unknown or ended one. */
  async end(id: string): Promise<void> {
    if (!SESSION_ID.test(id)) return
    await this.#prisma.$executeRaw`DELETE FROM sms_outbox.admin_sessions WHERE session_hash = ${this.#hash(id)}`
  }

  #hash(id: string): string {
    return createHmac('sha256', this.#adminToken).update(id).digest('hex')
  }
}
