import type { ErrorObject, ValidateFunction } from 'ajv'
import { BatchRequestSchema, ResultReadyRequestSchema } from '../domain/message-schemas.ts'
import { compileBodyValidator } from '../domain/json-validation.ts'
import { InvalidMessage, type MessageRequest } from '../outbox/enqueue/prepare-message.ts'

/** A message as library code submits it: the REST body, with an optional key and Date-typed times. */
export interface OutboxMessage {
  /** E.164 (`+821012345678`) or a Korean mobile number (`010-1234-5678`). */
  to: string
  text: string
  /** Not sent before this (a Date, or RFC 3339 with a zone). */
  sendAt?: Date | string
  /** Never sent after this; default `ttlSeconds` after it is due. */
  expiresAt?: Date | string
  /** 0 to 20; default the outbox's `maxRetries`. */
  maxRetries?: number
  /** A JSON object of up to 4 KiB, stored as is. */
  metadata?: Record<string, unknown>
  /** The same key with the same message returns the original; with another, IdempotencyConflict. */
  idempotencyKey?: string
}

export interface ResultReadyNotification {
  to: string
  /** The finished job: its link is FRONTEND_URL/results/<jobId>, and it gets one message ever. */
  jobId: string
}

// The schemas of the REST bodies, checked by the same compiler: input the API refuses
// with a 400 is refused here too, and for the same reason.
const checkMessage = compileBodyValidator(BatchRequestSchema.properties.messages.items)
const checkResultReady = compileBodyValidator(ResultReadyRequestSchema)

/** `input` as the API would have received it, or InvalidMessage naming the field at fault. */
export function checkedMessage(input: OutboxMessage): MessageRequest & { idempotencyKey?: string } {
  const request = {
    ...input,
    sendAt: timestampOf('sendAt', input.sendAt),
    expiresAt: timestampOf('expiresAt', input.expiresAt),
  }
  // JSON has no undefined: an absent option must not reach the schema as a present key.
  for (const key of Object.keys(request) as (keyof typeof request)[]) {
    if (request[key] === undefined) delete request[key]
  }
  return checked(checkMessage, request)
}

export function checkedResultReady(input: ResultReadyNotification): ResultReadyNotification {
  return checked(checkResultReady, { ...input })
}

function checked<T>(validate: ValidateFunction, input: object): T {
  if (!validate(input)) throw invalidMessageOf(validate.errors![0])
  return input as T
}

function timestampOf(field: string, value: Date | string | undefined): string | undefined {
  if (!(value instanceof Date)) return value
  if (Number.isNaN(value.getTime())) throw new InvalidMessage(field, 'is an invalid Date')
  return value.toISOString()
}

function invalidMessageOf(error: ErrorObject): InvalidMessage {
  const property = (error.params.missingProperty ?? error.params.additionalProperty) as string | undefined
  const field = error.instancePath.slice(1) || property || 'message'
  if (error.keyword === 'additionalProperties') return new InvalidMessage(field, 'is not a field of a message')
  return new InvalidMessage(field, error.message ?? `fails ${error.keyword}`)
}
