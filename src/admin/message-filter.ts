import { Prisma } from '../generated/prisma/client.ts'
import type { DeliveryStatus, MessageStatus } from '../outbox/message.ts'
import { searchCondition, type MessageSearch } from './message-search.ts'

/** Which messages an admin means: for lists, bulk redrives and the CLI alike. */
export interface MessageFilter {
  status?: MessageStatus[]
  /** E.164, already normalised. */
  to?: string
  /** `last_error_code`, e.g. `1030` or `http_503`. */
  errorCode?: string
  /** Accepted at or after. */
  since?: Date
  /** Accepted before. */
  until?: Date
  /** What the delivery receipt said, e.g. `undelivered`. */
  delivery?: DeliveryStatus
  /** Only these messages (the rows an admin ticked). */
  ids?: string[]
  /** What an admin typed into the search box: see message-search.ts. */
  search?: MessageSearch
}

/** The filter as SQL conditions on `messages`, ANDed; `TRUE` when it is empty. */
export function filterCondition(filter: MessageFilter): Prisma.Sql {
  const conditions = filterConditions(filter)
  return conditions.length > 0 ? Prisma.join(conditions, ' AND ') : Prisma.sql`TRUE`
}

/** Whether the filter leaves every message in: no condition at all. */
export function isEmptyFilter(filter: MessageFilter): boolean {
  return filterConditions(filter).length === 0
}

function filterConditions(filter: MessageFilter): Prisma.Sql[] {
  const conditions: Prisma.Sql[] = []
  if (filter.status?.length) conditions.push(Prisma.sql`status = ANY(${filter.status}::text[])`)
  if (filter.to !== undefined) conditions.push(Prisma.sql`recipient = ${filter.to}`)
  if (filter.errorCode !== undefined) conditions.push(Prisma.sql`last_error_code = ${filter.errorCode}`)
  if (filter.since !== undefined) conditions.push(Prisma.sql`created_at >= ${filter.since}`)
  if (filter.until !== undefined) conditions.push(Prisma.sql`created_at < ${filter.until}`)
  if (filter.delivery !== undefined) conditions.push(Prisma.sql`delivery_status = ${filter.delivery}`)
  if (filter.ids !== undefined) conditions.push(Prisma.sql`id = ANY(${filter.ids}::uuid[])`)
  if (filter.search !== undefined) conditions.push(searchCondition(filter.search))
  return conditions
}
