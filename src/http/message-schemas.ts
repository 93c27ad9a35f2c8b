import { Type } from 'typebox'
import { AcceptedMessageSchema, IdempotencyKey } from '../domain/message-schemas.ts'

export const IdempotencyHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(Type.String(IdempotencyKey)),
})

export const MessageIdParamsSchema = Type.Object({ id: Type.String({ format: 'uuid' }) })

export const BatchAcceptedSchema = Type.Object({
  messages: Type.Array(
    Type.Object({
      ...AcceptedMessageSchema.properties,
      created: Type.Boolean({ description: 'false when an idempotency key matched an earlier message' }),
    }),
  ),
})

export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
})

export const SuppressedErrorSchema = Type.Object(
  {
    ...ErrorSchema.properties,
    code: Type.Literal('RECIPIENT_SUPPRESSED'),
    reason: Type.Enum(['invalid_number', 'opted_out', 'not_mobile'], {
      description: 'why the number is on the suppression list; an admin must remove it before it can be texted again',
    }),
  },
  { description: 'The number is on the suppression list; nothing was written' },
)

