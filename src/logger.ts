import { pino, type DestinationStream, type Logger } from 'pino'

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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination)
}
