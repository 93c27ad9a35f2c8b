// Signs, at every layer an error passes through (pg, @prisma/adapter-pg, Prisma), that the
// database could not be reached or could not take the work now. Such a request may
// succeed if repeated, so the API answers 503 with Retry-After instead of 500.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'])
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections'])
// P1001 unreachable, P1002 timed out, P1008 operation timeout, P1017 connection closed,
// P2024 no pool connection in time, P2028 transaction API error (e.g. its connection died).
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028'])
// SQLSTATE: 08 connection exception, 53 insufficient resources, 57P01-03 shutdown or
// starting up, 57014 statement timeout.
const SQLSTATE = /^(08...|53...|57P0[123]|57014)$/
const MESSAGES =
  /Connection terminated|Connection ended|timeout exceeded when trying to connect|Query read timeout|Can't reach database server|Client has encountered a connection error|the database system is (starting up|shutting down)/i

/** Whether `error` says the database is unavailable rather than that the request was wrong. */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false
  const { code, kind, message, cause, meta, originalCode } = error as Record<string, unknown>
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || PRISMA_CODES.has(code) || SQLSTATE.test(code))) {
    return true
  }
  if (typeof originalCode === 'string' && SQLSTATE.test(originalCode)) return true
  if (typeof kind === 'string' && ADAPTER_KINDS.has(kind)) return true
  if (typeof message === 'string' && MESSAGES.test(message)) return true
  const adapterError = (meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError
  return isDatabaseUnavailable(cause, depth + 1) || isDatabaseUnavailable(adapterError, depth + 1)
}
