// The message vocabulary as JSON schemas: what a caller submits, and how a message, its
// attempts and a suppression are shown. The REST routes, the library's input check, the
// CLI and the typed client all use these, so they cannot drift apart.
import { Type, type Static } from 'typebox'

export const DateTime = (description: string) => Type.String({ format: 'date-time', description })
export const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])

export const IdempotencyKey = {
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

export const MessageSummarySchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  status: Status,
  to: Nullable(Type.String({ description: 'masked; null once erased' })),
  type: Type.Enum(['SMS', 'LMS']),
  bytes: Type.Integer(),
  attempts: Type.Integer(),
  maxRetries: Type.Integer(),
  lastErrorCode: Nullable(Type.String()),
  lastError: Nullable(Type.String()),
  provider: Nullable(Type.String()),
  createdAt: DateTime('accepted at'),
  updatedAt: DateTime('last change'),
  nextAttemptAt: DateTime('when a dispatcher may next send it'),
  expiresAt: DateTime('never sent after this'),
  sentAt: Nullable(DateTime('provider accepted it')),
  erasedAt: Nullable(DateTime('number and text erased')),
  delivery: DeliverySchema,
  textPreview: Nullable(Type.String({ description: "the text's first characters, numbers in it redacted; null once erased" })),
})

export const SuppressionReason = Type.Enum(['invalid_number', 'opted_out', 'not_mobile'], {
  description: 'invalid_number, opted_out (the recipient refused messages) or not_mobile',
})

export const SuppressionSchema = Type.Object({
  id: Type.String({ format: 'uuid', description: 'names the entry where the number is shown masked' }),
  to: Type.String({ description: 'masked' }),
  reason: SuppressionReason,
  errorCode: Nullable(Type.String({ description: "the provider's code that caused it; null when an admin added it" })),
  provider: Nullable(Type.String()),
  messageId: Type.Union([Type.String({ format: 'uuid', description: 'the message whose failure caused it' }), Type.Null()]),
  createdAt: DateTime('suppressed since'),
})

export type MessageDetail = Static<typeof MessageDetailSchema>
export type AcceptedMessage = Static<typeof AcceptedMessageSchema>
export type MessageSummaryView = Static<typeof MessageSummarySchema>
export type SuppressionView = Static<typeof SuppressionSchema>
