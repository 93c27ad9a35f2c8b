import { Type, type Static } from 'typebox'
import {
  AttemptSchema,
  DateTime,
  DeliveryStatus,
  MessageDetailSchema,
  MessageSummarySchema,
  Nullable,
  SuppressionReason,
  Status,
  SuppressionSchema,
} from '../domain/message-schemas.ts'

const STATUSES = 'pending|sending|sent|dead|expired|canceled'

export const AdminListQuerySchema = Type.Object(
  {
    status: Type.Optional(
      Type.String({
        pattern: `^(${STATUSES})(,(${STATUSES}))*$`,
        description: 'one status or several, comma-separated: dead,expired',
      }),
    ),
    to: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'E.164 or a Korean mobile number' })),
    // No control characters: PostgreSQL text cannot hold U+0000, and `errorCode=%00` was a
    // 500 (chaos scenario 23, input fuzz). No error code has one.
    errorCode: Type.Optional(
      Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$', description: 'last error code, e.g. 1030' }),
    ),
    since: Type.Optional(DateTime('accepted at or after')),
    until: Type.Optional(DateTime('accepted before')),
    delivery: Type.Optional({ ...DeliveryStatus, description: 'what the delivery receipt said: undelivered' }),
    q: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        pattern: '^[^\\u0000]+$',
        description:
          'search: a message id or idempotency key, a phone number, key=value in metadata, or a metadata value',
      }),
    ),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 300, description: 'nextCursor of the previous page' })),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  },
  { additionalProperties: false },
)

export const ActorHeadersSchema = Type.Object({
  'x-admin-actor': Type.Optional(
    Type.String({ minLength: 1, maxLength: 100, description: 'who is acting, for admin_actions; default admin-api' }),
  ),
})

// What a bulk action applies to: the list's filter (and search), or the ticked ids, or both.
const bulkScope = {
  to: AdminListQuerySchema.properties.to,
  errorCode: AdminListQuerySchema.properties.errorCode,
  since: AdminListQuerySchema.properties.since,
  until: AdminListQuerySchema.properties.until,
  q: AdminListQuerySchema.properties.q,
  ids: Type.Optional(
    Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 1000, description: 'only these messages' }),
  ),
}

export const BulkRetryRequestSchema = Type.Object(
  {
    status: Type.Optional(
      Type.Array(Type.Enum(['dead', 'expired']), { minItems: 1, description: 'default both; with nothing else in scope, required' }),
    ),
    ...bulkScope,
    dryRun: Type.Boolean({ default: false, description: 'only count what would be retried' }),
  },
  { additionalProperties: false },
)

export const BulkCancelRequestSchema = Type.Object(
  {
    status: Type.Optional(
      Type.Array(Status, { minItems: 1, description: 'the list filter; only its pending messages are canceled; with nothing else in scope, required' }),
    ),
    ...bulkScope,
    dryRun: Type.Boolean({ default: false, description: 'only count what would be canceled' }),
  },
  { additionalProperties: false, description: 'every pending message in scope is canceled; others are left alone' },
)

const Breakdown = {
  byStatus: Type.Record(Type.String(), Type.Integer(), { description: 'by the status before the action' }),
  byErrorCode: Type.Array(Type.Object({ errorCode: Type.String({ description: 'none: no error code' }), count: Type.Integer() })),
}

export const MessageCountSchema = Type.Object({ count: Type.Integer({ description: 'messages matching the filter' }) })

export const MessagePageSchema = Type.Object({
  messages: Type.Array(MessageSummarySchema),
  nextCursor: Nullable(Type.String({ description: 'pass as cursor for the next page; null on the last' })),
})

export const AdminMessageDetailSchema = Type.Object({
  ...MessageDetailSchema.properties,
  to: Nullable(Type.String({ description: 'the full E.164 number: the one place it is shown' })),
  attempts: Type.Array(AttemptSchema),
  actions: Type.Array(
    Type.Object({ at: DateTime('when'), actor: Type.String(), action: Type.String(), detail: Type.Unknown() }),
  ),
})

export const MessageActionResultSchema = Type.Object({
  result: Type.Enum(['retried', 'canceled', 'unchanged']),
  message: MessageSummarySchema,
})

export const BulkRetryResultSchema = Type.Object({
  matched: Type.Integer(),
  retried: Type.Integer(),
  dryRun: Type.Boolean(),
  ...Breakdown,
})

export const BulkCancelResultSchema = Type.Object({
  matched: Type.Integer(),
  canceled: Type.Integer(),
  dryRun: Type.Boolean(),
  ...Breakdown,
})

export const ProvidersSchema = Type.Object({
  active: Nullable(Type.String({ description: "this process's SMS_PROVIDER; null for ROLE=api" })),
  paused: Type.Array(
    Type.Object({
      provider: Type.String(),
      errorCode: Type.String({ description: 'manual for a pause an admin made by hand' }),
      reason: Type.String(),
      pausedAt: DateTime('paused at'),
      pausedBy: Nullable(Type.String({ description: 'the admin who paused it by hand; null: a dispatcher, after an account error' })),
      nextProbeAt: Nullable(DateTime('next probe message; null for a pause made by hand, which is never probed')),
      probes: Type.Integer(),
    }),
  ),
  providers: Type.Array(
    Type.Object({
      provider: Type.String(),
      state: Type.Enum(['sending', 'paused'], { description: 'paused: no dispatcher claims for it' }),
      rateLimitPerSecond: Type.Union([Type.Number(), Type.Null()], { description: 'PROVIDER_RATE_LIMIT, shared by every dispatcher; null: none' }),
      retryBudget: Type.Object({
        ratio: Type.Number({ description: 'RETRY_BUDGET_RATIO' }),
        minPerMinute: Type.Integer({ description: 'RETRY_BUDGET_MIN_PER_MINUTE' }),
        firstAttemptsLastMinute: Type.Integer(),
        retriesLastMinute: Type.Integer(),
        retriesAllowedLastMinute: Type.Integer({ description: 'ratio x first attempts + minPerMinute' }),
      }),
    }),
    { description: 'every provider, paused or not' },
  ),
})

export const ProviderPauseRequestSchema = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 500, pattern: '^[^\\u0000]+$', description: 'why, for the other admins' }) },
  { additionalProperties: false },
)

export const ProviderPauseResultSchema = Type.Object({
  provider: Type.String(),
  paused: Type.Boolean({ description: 'false when it was paused by hand already (nothing changed)' }),
})

export const CountsSchema = Type.Object({
  byStatus: Type.Record(Type.String(), Type.Integer(), {
    description: 'pending, sending, dead and expired counted now; sent and canceled at most a minute ago',
  }),
})

export const ChartQuerySchema = Type.Object(
  { range: Type.Enum(['hour', 'week'], { default: 'hour', description: 'the last hour by minute, or 7 days by hour' }) },
  { additionalProperties: false },
)

const BucketStarts = Type.Array(DateTime('start of the bucket'), { description: 'oldest first; the last one is still filling' })
const Counts = Type.Array(Type.Integer())
const Milliseconds = Type.Array(Type.Union([Type.Integer(), Type.Null()]), { description: 'null where no attempt finished' })

export const ThroughputChartSchema = Type.Object({
  range: Type.Enum(['hour', 'week']),
  at: BucketStarts,
  accepted: Counts,
  sent: Counts,
  dead: Type.Array(Type.Integer(), { description: 'by when they died; a message retried since is not counted' }),
  expired: Counts,
  undelivered: Type.Array(Type.Integer(), { description: 'sent messages whose delivery receipt said undelivered, by when it said so' }),
})

export const LatencyChartSchema = Type.Object({
  range: Type.Enum(['hour', 'week']),
  at: BucketStarts,
  p50: Milliseconds,
  p99: Milliseconds,
})

const Readings = Type.Array(Type.Union([Type.Integer(), Type.Null()]), { description: "null where no worker took a reading" })

export const QueueChartSchema = Type.Object({
  range: Type.Enum(['hour', 'week']),
  at: BucketStarts,
  queued: Readings,
  due: Readings,
  oldestDueSeconds: Readings,
  now: Type.Object(
    {
      at: DateTime('when it was read'),
      queued: Type.Integer({ description: 'pending or sending' }),
      due: Type.Integer({ description: 'pending and due now' }),
      oldestDueAgeSeconds: Type.Number({ description: 'how long the longest-waiting due message has been due; 0 when none is' }),
    },
    { description: 'read now, for the latest point' },
  ),
}, { description: 'per bucket the largest of the once-a-minute readings workers take' })

export const ProviderParamsSchema = Type.Object({
  provider: Type.Enum(['console', 'webhook', 'solapi', 'twilio']),
})

export const ProviderResumeResultSchema = Type.Object({ provider: Type.String(), resumed: Type.Boolean() })

export const StatsSchema = Type.Object({
  prunedBefore: Type.Union([DateTime(''), Type.Null()], {
    description:
      'every count comes from the messages still stored: sent, dead, expired and canceled messages whose last change is before this were deleted (PRUNE_AFTER_HOURS) and count nowhere, so hours before it are partial; null when nothing is pruned (PRUNE_AFTER_HOURS=0)',
  }),
  byStatus: Type.Record(Type.String(), Type.Integer()),
  deadByErrorCode: Type.Array(Type.Object({ errorCode: Type.String(), count: Type.Integer() })),
  perHour: Type.Array(
    Type.Object({ hour: DateTime('start of the hour'), created: Type.Integer(), sent: Type.Integer(), dead: Type.Integer() }),
  ),
})

export const SuppressionListQuerySchema = Type.Object(
  {
    to: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'only this number: E.164 or a Korean mobile number' })),
    cursor: AdminListQuerySchema.properties.cursor,
    limit: AdminListQuerySchema.properties.limit,
  },
  { additionalProperties: false },
)

export const SuppressionPageSchema = Type.Object({
  suppressions: Type.Array(SuppressionSchema),
  nextCursor: MessagePageSchema.properties.nextCursor,
})

export const SuppressionAddRequestSchema = Type.Object(
  {
    to: Type.String({ minLength: 1, maxLength: 40, description: 'E.164 or a Korean mobile number' }),
    reason: Type.Optional(SuppressionReason),
  },
  { additionalProperties: false },
)

export const SuppressionAddResultSchema = Type.Object({
  created: Type.Boolean({ description: 'false when the number was on the list already (its entry is unchanged)' }),
  suppression: SuppressionSchema,
  canceledPending: Type.Integer({
    minimum: 0,
    description: "the number's pending and scheduled messages canceled now (RECIPIENT_SUPPRESSED); one being sent is not called back",
  }),
})

export const SuppressionRemoveRequestSchema = Type.Object(
  {
    to: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'the number: E.164 or a Korean mobile number' })),
    id: Type.Optional(Type.String({ format: 'uuid', description: "the entry's id, as the list shows it" })),
  },
  { additionalProperties: false, minProperties: 1, maxProperties: 1, description: 'exactly one of to and id' },
)

export const SuppressionRemoveResultSchema = Type.Object({
  removed: Type.Boolean({ description: 'false when the number was not on the list; nothing is recorded then' }),
  suppression: Type.Union([SuppressionSchema, Type.Null()]),
})

