import { pino, type DestinationStream, type Logger } from 'pino'

const CENSOR = '[redacted]'

/**
 * Where a phone number, a text or a credential could reach a log line: request bodies
 * (if anyone logs one), auth headers and cookies. Numbers the service logs on purpose
 * are masked where they are logged; these paths catch the rest.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'body.to',
  'body.text',
  'body.messages[*].to',
  'body.messages[*].text',
  'req.body.to',
  'req.body.text',
  'req.body.messages[*].to',
  'req.body.messages[*].text',
]

/**
 * Where a request's URL is logged: the access log line's `url`, and `req.url` wherever a
 * line carries the request (Fastify's own error lines). Its query string is redacted, not
 * the whole of it: the path and the harmless parameters are what an operator reads.
 */
const URL_PATHS = ['url', 'req.url']

// The admin list's `to` filter holds a number, and so may its search `q`; a cursor is
// opaque and stays out of logs on principle; any *token*, *key* or *secret* is a
// credential someone put in a URL.
const SECRET_PARAMETER = /^(?:to|q|cursor)$|token|key|secret/i

/**
 * `url` with the value of every query parameter that may hold a number or a credential
 * replaced by `[redacted]`; the path, the other parameters and their order are kept.
 */
function redactedUrl(url: string): string {
  const start = url.indexOf('?')
  if (start === -1) return url
  const parameters = url
    .slice(start + 1)
    .split('&')
    .map((parameter) => {
      const equals = parameter.indexOf('=')
      if (equals === -1) return parameter
      const name = parameter.slice(0, equals)
      return SECRET_PARAMETER.test(decodedName(name)) ? `${name}=${CENSOR}` : parameter
    })
  return `${url.slice(0, start)}?${parameters.join('&')}`
}

/** A parameter's name as the route reads it: `%74o` is `to`. */
function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '))
  } catch {
    return name
  }
}

function censor(value: unknown, path: string[]): unknown {
  if (path.at(-1) === 'url' && typeof value === 'string') return redactedUrl(value)
  return CENSOR
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: [...REDACTED_PATHS, ...URL_PATHS], censor } }, destination)
}
