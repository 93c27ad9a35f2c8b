import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import { fullFormats } from 'ajv-formats/dist/formats.js'

const rfc3339 = fullFormats['date-time'] as { validate: (value: string) => boolean; compare: (a: string, b: string) => number | undefined }

/**
 * RFC 3339 allows times that neither JavaScript nor PostgreSQL can hold: a leap second
 * (`23:59:60`) is NaN to Date, and year 0000 is outside timestamptz. Both passed the
 * schema and failed at the INSERT with a 500 (chaos scenario 23, input fuzz); refused
 * here they are a 400 that names the field.
 */
function representableDateTime(value: string): boolean {
  if (!rfc3339.validate(value)) return false
  const time = Date.parse(value)
  if (!Number.isFinite(time)) return false
  const year = new Date(time).getUTCFullYear()
  return year >= 1 && year <= 9999
}

function compilerWith(options: Options) {
  const ajv = new Ajv({ useDefaults: true, removeAdditional: false, allErrors: false, ...options })
  addFormats.default(ajv)
  ajv.addFormat('date-time', { validate: representableDateTime, compare: rfc3339.compare })
  return ajv
}

// JSON bodies carry real types: `"maxRetries": "3"` or `"to": ["+82..."]` is a caller's
// bug, and coercing it would hide it. Querystrings, params and headers are text by
// nature, so numbers there are coerced.
const bodies = compilerWith({ coerceTypes: false })
const textParts = compilerWith({ coerceTypes: 'array' })

/** The check a JSON body gets: the REST routes' bodies and the library's input alike. */
export const compileBodyValidator = (schema: object) => bodies.compile(schema)

/** The check a URL part or header gets: text, so numbers are coerced. */
export const compileTextValidator = (schema: object) => textParts.compile(schema)
