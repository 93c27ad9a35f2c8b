import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

function compilerWith(options: Options) {
  const ajv = new Ajv({ useDefaults: true, removeAdditional: false, allErrors: false, ...options })
  addFormats.default(ajv)
  return ajv
}

// JSON bodies carry real types: `"maxRetries": "3"` or `"to": ["+82..."]` is a caller's
// bug, and coercing it would hide it. Querystrings, params and headers are text by
// nature, so numbers there are coerced.
const bodies = compilerWith({ coerceTypes: false })
const textParts = compilerWith({ coerceTypes: 'array' })

/** Fastify validator compiler: strict JSON bodies, coerced URL parts and headers. */
export const validatorCompiler: FastifySchemaCompiler<any> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodies : textParts).compile(schema as object)
