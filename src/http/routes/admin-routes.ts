import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyBaseLogger } from 'fastify'
import { Type } from 'typebox'
import type { Alerter } from '../../alerts/alerter.ts'
import { adminActionsOf } from '../../admin/admin-actions.ts'
import type { BulkOutcome } from '../../admin/bulk-outcome.ts'
import { cancelMatching, cancelMessage } from '../../admin/cancel-message.ts'
import { countByStatus, latencyChart, queueChart, throughputChart, WATCHED_STATUSES } from '../../admin/charts.ts'
import { pauseProviderByHand, resumeProviderByHand } from '../../admin/provider-actions.ts'
import { InvalidFilter } from '../../admin/invalid-filter.ts'
import { countMessages, listMessages } from '../../admin/list-messages.ts'
import { isEmptyFilter, type MessageFilter } from '../../admin/message-filter.ts'
import { parseSearch } from '../../admin/message-search.ts'
import { outboxStats } from '../../admin/outbox-stats.ts'
import { providerStates } from '../../admin/provider-states.ts'
import { retryMatching, retryMessage } from '../../admin/retry-messages.ts'
import { addSuppression, listedNumber, listSuppressions, removeSuppression } from '../../admin/suppressions.ts'
import { providerRateLimit, type Config } from '../../config.ts'
import type { PrismaClient } from '../../db/database.ts'
import type { Connection } from '../../db/sql-statement.ts'
import { findMessage } from '../../outbox/find-message.ts'
import type { MessageStatus } from '../../outbox/message.ts'
import { readDueBacklog } from '../../metrics/outbox-readings.ts'
import { sharedReading } from '../../metrics/shared-reading.ts'
import { InvalidPhoneNumber, normalizePhoneNumber } from '../../sms/phone-number.ts'
import {
  ActorHeadersSchema,
  AdminListQuerySchema,
  AdminMessageDetailSchema,
  BulkCancelRequestSchema,
  BulkCancelResultSchema,
  BulkRetryRequestSchema,
  BulkRetryResultSchema,
  ChartQuerySchema,
  CountsSchema,
  LatencyChartSchema,
  MessageActionResultSchema,
  MessageCountSchema,
  MessagePageSchema,
  ProviderParamsSchema,
  ProviderPauseRequestSchema,
  ProviderPauseResultSchema,
  ProviderResumeResultSchema,
  ProvidersSchema,
  QueueChartSchema,
  StatsSchema,
  SuppressionAddRequestSchema,
  SuppressionAddResultSchema,
  SuppressionListQuerySchema,
  SuppressionPageSchema,
  SuppressionRemoveRequestSchema,
  SuppressionRemoveResultSchema,
  ThroughputChartSchema,
} from '../admin-schemas.ts'
import { ErrorSchema, MessageIdParamsSchema } from '../message-schemas.ts'
import { detailView, summaryView, suppressionView } from '../../admin/message-views.ts'

// 403: a change made with the admin page's cookie from anywhere but the page (same-origin.ts).
const Errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 503: ErrorSchema }
const DEFAULT_ACTOR = 'admin-api'

/**
 * What admins need: find what failed, see every attempt, retry, cancel, resume a paused
 * provider, count. Mounted behind the ADMIN_TOKEN guard (see app.ts).
 */
export const adminRoutes: FastifyPluginAsyncTypebox<{
  config: Config
  prisma: PrismaClient
  /** The pool under `prisma`, for the readings the worker's metrics share (outbox-readings.ts). */
  pool: Connection
  alerts?: Alerter
}> = async (app, { config, prisma, pool, alerts }) => {
  const notFound = (id: string) => ({ statusCode: 404, code: 'MESSAGE_NOT_FOUND', error: 'Not Found', message: `no message ${id}` })
  const conflict = (code: string, message: string) => ({ statusCode: 409, code, error: 'Conflict', message })

  app.get(
    '/v1/admin/messages',
    {
      schema: {
        summary: 'Messages, newest first, filtered and paged by cursor; numbers masked',
        querystring: AdminListQuerySchema,
        response: { 200: MessagePageSchema, ...Errors },
      },
    },
    async (request) => {
      const { cursor, limit, ...filter } = request.query
      const page = await listMessages(prisma, parseFilter(filter), { cursor, limit })
      return { messages: page.messages.map(summaryView), nextCursor: page.nextCursor }
    },
  )

  app.get(
    '/v1/admin/messages/count',
    {
      schema: {
        summary: 'How many messages match the filter (for "select all that match")',
        querystring: Type.Omit(AdminListQuerySchema, ['cursor', 'limit']),
        response: { 200: MessageCountSchema, ...Errors },
      },
    },
    async (request) => ({ count: await countMessages(prisma, parseFilter(request.query)) }),
  )

  app.get(
    '/v1/admin/messages/:id',
    {
      schema: {
        summary: 'One message with its full number, every attempt and every admin action',
        params: MessageIdParamsSchema,
        response: { 200: AdminMessageDetailSchema, 404: ErrorSchema, ...Errors },
      },
    },
    async (request, reply) => {
      const found = await findMessage(prisma, request.params.id)
      if (!found) return reply.code(404).send(notFound(request.params.id))
      const actions = await adminActionsOf(prisma, request.params.id)
      return {
        ...detailView(found.message, found.attempts),
        to: found.message.to,
        actions: actions.map((action) => ({ ...action, at: action.at.toISOString() })),
      }
    },
  )

  app.post(
    '/v1/admin/messages/:id/retry',
    {
      schema: {
        summary: 'Send a dead or expired message again, with a fresh retry budget; harmless twice',
        params: MessageIdParamsSchema,
        headers: ActorHeadersSchema,
        response: { 200: MessageActionResultSchema, 404: ErrorSchema, 409: ErrorSchema, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = request.headers['x-admin-actor'] ?? DEFAULT_ACTOR
      const outcome = await retryMessage(prisma, request.params.id, { actor, ttlSeconds: config.MESSAGE_TTL_SECONDS })
      if (outcome.result === 'not_found') return reply.code(404).send(notFound(request.params.id))
      if (outcome.result === 'not_retryable') {
        return reply.code(409).send(conflict('MESSAGE_NOT_RETRYABLE', `message ${request.params.id} cannot be retried: ${outcome.reason}`))
      }
      return { result: outcome.result, message: summaryView(outcome.message) }
    },
  )

  app.post(
    '/v1/admin/messages/:id/cancel',
    {
      schema: {
        summary: 'Cancel a pending message so that it is never sent; harmless twice',
        params: MessageIdParamsSchema,
        headers: ActorHeadersSchema,
        response: { 200: MessageActionResultSchema, 404: ErrorSchema, 409: ErrorSchema, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = request.headers['x-admin-actor'] ?? DEFAULT_ACTOR
      const outcome = await cancelMessage(prisma, request.params.id, { actor })
      if (outcome.result === 'not_found') return reply.code(404).send(notFound(request.params.id))
      if (outcome.result === 'not_cancelable') {
        return reply.code(409).send(conflict('MESSAGE_NOT_CANCELABLE', `message ${request.params.id} cannot be canceled: ${outcome.reason}`))
      }
      return { result: outcome.result, message: summaryView(outcome.message) }
    },
  )

  app.post(
    '/v1/admin/messages/retry',
    {
      schema: {
        summary: 'Bulk redrive: every dead or expired message matching the filter; dryRun counts first',
        headers: ActorHeadersSchema,
        body: BulkRetryRequestSchema,
        response: { 200: BulkRetryResultSchema, ...Errors },
      },
    },
    async (request) => {
      const { acted, ...done } = await bulkAction(request, 'retried', (filter, options) =>
        retryMatching(prisma, filter, { ...options, ttlSeconds: config.MESSAGE_TTL_SECONDS }),
      )
      return { ...done, retried: acted }
    },
  )

  app.post(
    '/v1/admin/messages/cancel',
    {
      schema: {
        summary: 'Bulk cancel: every pending message matching the filter or among the ids; dryRun counts first',
        headers: ActorHeadersSchema,
        body: BulkCancelRequestSchema,
        response: { 200: BulkCancelResultSchema, ...Errors },
      },
    },
    async (request) => {
      const { acted, ...done } = await bulkAction(request, 'canceled', (filter, options) => cancelMatching(prisma, filter, options))
      return { ...done, canceled: acted }
    },
  )

  app.get(
    '/v1/admin/providers',
    {
      schema: {
        summary: 'Every provider: paused (since when, why, by whom, next probe) or sending, its rate limit and retry budget in use',
        response: { 200: ProvidersSchema, ...Errors },
      },
    },
    async () => {
      const states = await providerStates(prisma)
      const budget = { ratio: config.RETRY_BUDGET_RATIO, minPerMinute: config.RETRY_BUDGET_MIN_PER_MINUTE }
      return {
        active: config.ROLE === 'api' ? null : config.SMS_PROVIDER,
        paused: states.flatMap(({ provider, pause }) =>
          pause === null
            ? []
            : [{ provider, ...pause, pausedAt: pause.pausedAt.toISOString(), nextProbeAt: pause.nextProbeAt?.toISOString() ?? null }],
        ),
        providers: states.map(({ provider, pause, lastMinute }) => ({
          provider,
          state: pause === null ? ('sending' as const) : ('paused' as const),
          rateLimitPerSecond: providerRateLimit(config)?.perSecond ?? null,
          retryBudget: {
            ...budget,
            firstAttemptsLastMinute: lastMinute.firstAttempts,
            retriesLastMinute: lastMinute.retries,
            retriesAllowedLastMinute: Math.floor(budget.ratio * lastMinute.firstAttempts + budget.minPerMinute),
          },
        })),
      }
    },
  )

  app.post(
    '/v1/admin/providers/:provider/pause',
    {
      schema: {
        summary: 'Stop every dispatcher sending through a provider until an admin resumes it (no probes); recorded',
        params: ProviderParamsSchema,
        headers: ActorHeadersSchema,
        body: ProviderPauseRequestSchema,
        response: { 200: ProviderPauseResultSchema, ...Errors },
      },
    },
    async (request) => {
      const { provider } = request.params
      const actor = request.headers['x-admin-actor'] ?? DEFAULT_ACTOR
      const paused = await pauseProviderByHand(prisma, provider, { actor, reason: request.body.reason, alerts })
      if (paused) request.log.warn({ provider, actor }, `provider ${provider} paused by ${actor}`)
      return { provider, paused }
    },
  )

  app.post(
    '/v1/admin/providers/:provider/resume',
    {
      schema: {
        summary: 'End a provider pause now instead of at the next successful probe',
        params: ProviderParamsSchema,
        headers: ActorHeadersSchema,
        response: { 200: ProviderResumeResultSchema, ...Errors },
      },
    },
    async (request) => {
      const { provider } = request.params
      const actor = request.headers['x-admin-actor'] ?? DEFAULT_ACTOR
      const resumed = await resumeProviderByHand(prisma, provider, { actor, alerts })
      if (resumed) request.log.info({ provider, actor }, `provider ${provider} resumed by ${actor}`)
      return { provider, resumed }
    },
  )

  app.get(
    '/v1/admin/suppressions',
    {
      schema: {
        summary: 'The suppression list: numbers no message is accepted for, newest first; numbers masked',
        querystring: SuppressionListQuerySchema,
        response: { 200: SuppressionPageSchema, ...Errors },
      },
    },
    async (request) => {
      const { to, cursor, limit } = request.query
      const recipient = to === undefined ? undefined : numberIn('to', to, InvalidFilter)
      const page = await listSuppressions(prisma, { recipient, cursor, limit })
      return { suppressions: page.suppressions.map(suppressionView), nextCursor: page.nextCursor }
    },
  )

  app.post(
    '/v1/admin/suppressions',
    {
      schema: {
        summary: 'Put a number on the suppression list by hand (default reason opted_out) and cancel its pending messages; harmless twice',
        headers: ActorHeadersSchema,
        body: SuppressionAddRequestSchema,
        response: { 200: SuppressionAddResultSchema, 201: SuppressionAddResultSchema, ...Errors },
      },
    },
    async (request, reply) => {
      const recipient = numberIn('to', request.body.to, InvalidSuppressionRequest)
      const actor = request.headers['x-admin-actor'] ?? DEFAULT_ACTOR
      const { entry, created, canceledPending } = await addSuppression(prisma, { recipient, reason: request.body.reason ?? 'opted_out' }, { actor })
      if (created || canceledPending > 0) {
        request.log.info({ actor, suppressionId: entry.id, canceledPending }, `${actor} suppressed a number; ${canceledPending} pending canceled`)
      }
      return reply.code(created ? 201 : 200).send({ created, suppression: suppressionView(entry), canceledPending })
    },
  )

  // A POST with the number in the body rather than DELETE /suppressions/<number>: URLs end
  // up in access logs, and the number is the very thing the log must not hold.
  app.post(
    '/v1/admin/suppressions/remove',
    {
      schema: {
        summary: 'Take a number off the suppression list, by number or by id; recorded; harmless twice',
        headers: ActorHeadersSchema,
        body: SuppressionRemoveRequestSchema,
        response: { 200: SuppressionRemoveResultSchema, ...Errors },
      },
    },
    async (request) => {
      const { to, id } = request.body
      const key = to !== undefined ? { recipient: numberIn('to', to, InvalidSuppressionRequest) } : { id: id! }
      const actor = request.headers['x-admin-actor'] ?? DEFAULT_ACTOR
      const removed = await removeSuppression(prisma, key, { actor })
      if (removed) request.log.info({ actor, suppressionId: removed.id }, `${actor} removed a number from the suppression list`)
      return { removed: removed !== null, suppression: removed && suppressionView(removed) }
    },
  )

  // The week's charts read every message and attempt of 7 days (index-only, 1.8 s per
  // million messages here): every admin's poll shares one reading a minute. The hour's
  // read a minute's worth of index (10 ms per million a week), shared only while in flight.
  const charts = {
    throughput: {
      hour: sharedReading(() => throughputChart(prisma, 'hour'), { maxAgeMs: 0 }),
      week: sharedReading(() => throughputChart(prisma, 'week'), { maxAgeMs: 60_000 }),
    },
    latency: {
      hour: sharedReading(() => latencyChart(prisma, 'hour'), { maxAgeMs: 0 }),
      week: sharedReading(() => latencyChart(prisma, 'week'), { maxAgeMs: 60_000 }),
    },
  }

  // Counting every sent message reads the whole table (0.3 s per million): once a minute.
  const finishedCounts = sharedReading(() => countByStatus(prisma, ['sent', 'canceled']), { maxAgeMs: 60_000 })

  app.get(
    '/v1/admin/counts',
    {
      schema: {
        summary: 'Messages per status, cheap enough to poll: the watched statuses now, sent and canceled within a minute',
        response: { 200: CountsSchema, ...Errors },
      },
    },
    async () => {
      const [watched, finished] = await Promise.all([countByStatus(prisma, WATCHED_STATUSES), finishedCounts()])
      return { byStatus: { ...watched, ...finished } }
    },
  )

  app.get(
    '/v1/admin/charts/throughput',
    {
      schema: {
        summary: 'Accepted, sent, dead and expired per minute (last hour) or per hour (last 7 days)',
        querystring: ChartQuerySchema,
        response: { 200: ThroughputChartSchema, ...Errors },
      },
    },
    async (request) => {
      const { range } = request.query
      const chart = await charts.throughput[range]()
      return { range, at: chart.at.map((at) => at.toISOString()), ...(chart.series as Record<keyof typeof chart.series, number[]>) }
    },
  )

  app.get(
    '/v1/admin/charts/latency',
    {
      schema: {
        summary: 'Provider latency p50 and p99 per minute (last hour) or per hour (last 7 days)',
        querystring: ChartQuerySchema,
        response: { 200: LatencyChartSchema, ...Errors },
      },
    },
    async (request) => {
      const { range } = request.query
      const chart = await charts.latency[range]()
      return { range, at: chart.at.map((at) => at.toISOString()), ...chart.series }
    },
  )

  app.get(
    '/v1/admin/charts/queue',
    {
      schema: {
        summary: 'Queue depth and the age of the oldest due message per minute (last hour) or hour (7 days), and now',
        querystring: ChartQuerySchema,
        response: { 200: QueueChartSchema, ...Errors },
      },
    },
    async (request) => {
      const { range } = request.query
      const [chart, unfinished, backlog] = await Promise.all([
        queueChart(prisma, range),
        countByStatus(prisma, ['pending', 'sending']),
        readDueBacklog(pool),
      ])
      const queued = unfinished.pending + unfinished.sending
      return {
        range,
        at: chart.at.map((at) => at.toISOString()),
        ...chart.series,
        now: { at: new Date().toISOString(), queued, ...backlog },
      }
    },
  )

  app.get(
    '/v1/admin/stats',
    {
      schema: {
        summary: 'Counts per status, dead per error code, and the last 24 hours by hour, of the messages not yet pruned',
        response: { 200: StatsSchema, ...Errors },
      },
    },
    async () => {
      const stats = await outboxStats(prisma, { pruneAfterHours: config.PRUNE_AFTER_HOURS })
      return {
        ...stats,
        prunedBefore: stats.prunedBefore?.toISOString() ?? null,
        perHour: stats.perHour.map((hour) => ({ ...hour, hour: hour.hour.toISOString() })),
      }
    },
  )
}

/** A number given to add or remove that is no number: 400 BAD_REQUEST, as the error handler maps it. */
class InvalidSuppressionRequest extends Error {
  override name = 'InvalidSuppressionRequest'
  readonly statusCode = 400
}

/** `input` as the suppression list stores numbers; a number that is none is a 400. */
function numberIn(field: string, input: string, As: new (message: string) => Error): string {
  try {
    return listedNumber(input)
  } catch (error) {
    if (error instanceof InvalidPhoneNumber) throw new As(`${field}: ${error.message}`)
    throw error
  }
}

interface BulkRequest {
  body: { dryRun: boolean; status?: string[] } & Omit<FilterQuery, 'status'>
  headers: { 'x-admin-actor'?: string }
  log: FastifyBaseLogger
}

/**
 * What bulk retry and bulk cancel share: the scope read from the body (an empty one
 * refused), the actor, the dry run that only counts, one log line for what was done, and
 * the answer's common part (`acted` is what the route names `retried` or `canceled`: 0 in
 * a dry run).
 */
async function bulkAction(
  { body: { dryRun, status, ...scope }, headers, log }: BulkRequest,
  done: 'retried' | 'canceled',
  act: (filter: MessageFilter, options: { actor: string; dryRun: boolean }) => Promise<BulkOutcome>,
): Promise<BulkOutcome & { acted: number; dryRun: boolean }> {
  const filter = parseFilter({ ...scope, status: status?.join(',') })
  // As the CLI refuses a bare `retry`: an empty scope (a blank `q` included) is far more
  // often a mistake than a wish to act on every message, so "every one" is spelled out as
  // a status.
  if (isEmptyFilter(filter)) {
    const every = done === 'retried' ? '["dead", "expired"] for every dead or expired one' : '["pending"] for every pending one'
    throw new InvalidFilter(`say which messages: a status (${every}), to, errorCode, since, until, q or ids`)
  }
  const actor = headers['x-admin-actor'] ?? DEFAULT_ACTOR
  const outcome = await act(filter, { actor, dryRun })
  if (!dryRun && outcome.matched > 0) log.info({ actor, [done]: outcome.matched }, `${actor} ${done} ${outcome.matched} messages`)
  return { ...outcome, acted: dryRun ? 0 : outcome.matched, dryRun }
}

/** A filter as the admin routes take it, in a query or a bulk action's body. */
interface FilterQuery {
  status?: string
  to?: string
  errorCode?: string
  since?: string
  until?: string
  delivery?: MessageFilter['delivery']
  q?: string
  ids?: string[]
}

/** The query's filter, with the number normalised as enqueue stores it. */
function parseFilter(query: FilterQuery): MessageFilter {
  let to: string | undefined
  if (query.to !== undefined) {
    try {
      to = normalizePhoneNumber(query.to)
    } catch (error) {
      if (error instanceof InvalidPhoneNumber) throw new InvalidFilter(`to: ${error.message}`)
      throw error
    }
  }
  return {
    status: query.status?.split(',') as MessageStatus[] | undefined,
    to,
    errorCode: query.errorCode,
    since: query.since === undefined ? undefined : new Date(query.since),
    until: query.until === undefined ? undefined : new Date(query.until),
    delivery: query.delivery,
    ids: query.ids,
    search: query.q === undefined || query.q.trim() === '' ? undefined : parseSearch(query.q),
  }
}
