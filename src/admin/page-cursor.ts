import { InvalidFilter } from './invalid-filter.ts'

/**
 * The cursor of a newest-first admin list: the last row's timestamp, as PostgreSQL
 * writes it (`created_at::text`), and its uuid, which breaks ties. The timestamp keeps the
 * database's microseconds: JavaScript's milliseconds would skip or repeat rows created
 * within the same millisecond. Cursors travel in URLs (logs, browser history), so they
 * hold nothing personal: the suppression list once paged by the number itself.
 */
function encodeCursor(position: string, id: string): string {
  return Buffer.from(JSON.stringify([position, id])).toString('base64url')
}

/**
 * One page of a newest-first list whose query selected `limit + 1` rows, each with its
 * `position` (`created_at::text`): the first `limit` rows without it, and the cursor
 * after the last of them when the extra row shows that more follow.
 */
export function pageOf<T extends { position: string; id: string }>(
  rows: T[],
  limit: number,
): { page: Omit<T, 'position'>[]; nextCursor: string | null } {
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  const nextCursor = rows.length > limit && last ? encodeCursor(last.position, last.id) : null
  return { page: page.map(({ position: _position, ...row }) => row), nextCursor }
}

/**
 * A cursor's timestamp and row id, checked so that PostgreSQL can read both back.
 * Throws InvalidFilter for anything this API did not hand out.
 */
export function decodeCursor(cursor: string): { position: string; id: string } {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw new InvalidFilter('cursor is not one this API returned')
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw new InvalidFilter('cursor is not one this API returned')
  const [position, id] = parsed as unknown[]
  if (typeof position !== 'string' || !isRealTimestamp(position) || typeof id !== 'string' || !UUID.test(id)) {
    throw new InvalidFilter('cursor is not one this API returned')
  }
  return { position, id }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

// created_at::text as PostgreSQL writes it, e.g. `2026-11-29 18:49:16.123456+00` (or
// `+08:27:52` for a local mean time). The zone offset is checked too: PostgreSQL refuses
// one beyond 15:59:59 (a forged `+99` was a 500).
const POSTGRES_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-](0\d|1[0-5])(:[0-5]\d){0,2}$/

/**
 * A cursor's timestamp must be one PostgreSQL can read back: the shape alone let a forged
 * `0000-01-01` or `2026-02-30` through to the cast, a 500 (chaos scenario 23, input fuzz).
 */
function isRealTimestamp(text: string): boolean {
  const match = POSTGRES_TIMESTAMP.exec(text)
  if (!match) return false
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number)
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second))
  return (
    year >= 1 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second
  )
}
