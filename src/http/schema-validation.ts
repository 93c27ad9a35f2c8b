import type { FastifySchemaCompiler } from 'fastify'
import { compileBodyValidator, compileTextValidator } from '../domain/json-validation.ts'

/** Fastify validator compiler: strict JSON bodies, coerced URL parts and headers. */
export const validatorCompiler: FastifySchemaCompiler<any> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? compileBodyValidator : compileTextValidator)(schema as object)
