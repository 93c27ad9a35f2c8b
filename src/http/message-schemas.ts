import { Type, type Static } from 'typebox'

export const DateTime = (description: string) => Type.String({ format: 'date-time', description })
export const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])

const IdempotencyKey = {
  minLength: 1,
  maxLength: 255,
  pattern: '^[\\x21-\\x7e]+$',
  description: 'printable ASCII, no spaces; the same key and body return the original message',
}

export const MessageRequestSchema = Type.Object(
  {
    to: Type.String({
      minLength: 1,
      maxLength: 40,
      // The characters are checked where the number is read (normalizePhoneNumber), whose
      // 400 says what a number may hold; a schema pattern's message would not.
      description: 'E.164 (+821012345678) or a Korean mobile number (010-1234-5678); ASCII digits, +, spaces, -, . and parentheses only',
    }),
    text: Type.String({
      minLength: 1,
      maxLength: 2_000,
      description: 'Up to 90 EUC-KR bytes is an SMS, up to 2,000 an LMS',
    }),
    sendAt: Type.Optional(DateTime('not before this time (RFC 3339, with a zone)')),
    expiresAt: Type.Optional(DateTime('never sent after this time; default MESSAGE_TTL_SECONDS on')),
    maxRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: 20, description: 'default RETRY_MAX_RETRIES' })),
    metadata: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), {
        // A Record's key schema becomes a pattern, which drops maxLength: longer keys got
        // through (chaos scenario 23, input fuzz).
        propertyNames: { maxLength: 64 },
        maxProperties: 32,
        description: 'yours, stored and returned as is',
      }),
    ),
  },
  { additionalProperties: false },
)

export const ResultReadyRequestSchema = Type.Object(
  {
    to: MessageRequestSchema.properties.to,
    jobId: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
      description: 'the finished job; its link is FRONTEND_URL/results/<jobId>, and it gets one message however often it is posted',
    }),
  },
  { additionalProperties: false },
)

export const BatchRequestSchema = Type.Object(
  {
    messages: Type.Array(
      Type.Object(
        {
          ...MessageRequestSchema.properties,
          idempotencyKey: Type.Optional(
            Type.String({ ...IdempotencyKey, description: 'as the Idempotency-Key header' }),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 1_000 },
    ),
  },
  { additionalProperties: false },
)

export const IdempotencyHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(Type.String(IdempotencyKey)),
})

export const MessageIdParamsSchema = Type.Object({ id: Type.String({ format: 'uuid' }) })

export const Status = Type.Enum(['pending', 'sending', 'sent', 'dead', 'expired', 'canceled'])

export const AcceptedMessageSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  status: Status,
  to: Nullable(Type.String({ description: 'masked: +82 10-****-5678; null once erased (RETENTION_HOURS)' })),
  type: Type.Enum(['SMS', 'LMS']),
  bytes: Type.Integer(),
  nextAttemptAt: DateTime('when a dispatcher may next send it'),
  createdAt: DateTime('accepted at'),
})

export const BatchAcceptedSchema = Type.Object({
  messages: Type.Array(
    Type.Object({
      ...AcceptedMessageSchema.properties,
      created: Type.Boolean({ description: 'false when an idempotency key matched an earlier message' }),
    }),
  ),
})

export const AttemptSchema = Type.Object({
  attempt: Type.Integer(),
  startedAt: DateTime('call started'),
  finishedAt: Nullable(DateTime('call finished; null while in flight')),
  outcome: Type.Union([
    Type.Enum(['ok', 'retryable', 'rate_limited', 'account', 'permanent', 'ambiguous']),
    Type.Null(),
  ]),
  errorCode: Nullable(Type.String()),
  errorMessage: Nullable(Type.String({ description: "the provider's words; null once erased (RETENTION_HOURS)" })),
  httpStatus: Type.Union([Type.Integer(), Type.Null()]),
  latencyMs: Type.Union([Type.Integer(), Type.Null()]),
})

export const DeliveryStatus = Type.Enum(['unknown', 'delivered', 'undelivered'])

export const DeliverySchema = Type.Object(
  {
    status: DeliveryStatus,
    at: Nullable(DateTime('when the receipt said so; null while unknown')),
    errorCode: Nullable(Type.String({ description: "the provider's code for an undelivered message" })),
  },
  {
    description:
      "the provider's delivery receipt: unknown until one arrives (always, without PUBLIC_URL for Twilio); the status stays sent",
  },
)

export const MessageDetailSchema = Type.Object({
  ...AcceptedMessageSchema.properties,
  delivery: DeliverySchema,
  text: Nullable(Type.String({ description: 'null once erased (RETENTION_HOURS)' })),
  maxRetries: Type.Integer(),
  attemptCount: Type.Integer({ description: 'provider calls started so far' }),
  attempts: Type.Array(AttemptSchema),
  lastErrorCode: Nullable(Type.String()),
  lastError: Nullable(Type.String({ description: 'null once erased (RETENTION_HOURS); lastErrorCode stays' })),
  provider: Nullable(Type.String()),
  providerMessageId: Nullable(Type.String()),
  metadata: Type.Unknown({ description: 'null once erased (RETENTION_HOURS)' }),
  updatedAt: DateTime('last change'),
  sentAt: Nullable(DateTime('provider accepted it')),
  expiresAt: DateTime('never sent after this'),
  erasedAt: Nullable(DateTime('number, text, metadata and error texts erased by the retention job')),
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

export type MessageDetail = Static<typeof MessageDetailSchema>
export type AcceptedMessage = Static<typeof AcceptedMessageSchema>
