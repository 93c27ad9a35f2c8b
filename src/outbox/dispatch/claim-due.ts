import { queryPrepared } from '../../db/prepared-statements.ts'
import type { Connection } from '../../db/sql-statement.ts'
import type { MessageType } from '../../sms/message-encoding.ts'
import { SUPPRESSED_ERROR, SUPPRESSED_ERROR_CODE } from '../enqueue/recipient-suppressed.ts'

/** A row this dispatcher now holds under a lease, with what sending it takes. */
export interface ClaimedMessage {
  id: string
  to: string
  text: string
  type: MessageType
  /** Every provider call for this message, this one included. */
  attempts: number
  /** The calls that used the retry budget, this one included. */
  countedAttempts: number
  maxRetries: number
  leaseToken: string
  /** Sent to test a paused provider: if it goes through, the pause ends. */
  probe: boolean
}

export interface ClaimOptions {
  limit: number
  leaseMs: number
  provider: string
  /** While the provider is paused, one probe message per this interval. */
  probeIntervalMs: number
  /**
   * Messages per second through this provider, shared by every dispatcher, from a token
   * bucket holding at most `bucketSize` (whole messages out of it; fractions accrue).
   * Unset: no limit.
   */
  rateLimit?: { perSecond: number; bucketSize: number }
  /**
   * Retries allowed in any 60 seconds: `ratio` times the first attempts in them, plus
   * `minPerMinute`. Unset: no budget.
   */
  retryBudget?: { ratio: number; minPerMinute: number }
  /**
   * The database's time after which nobody waits for this claim's answer any more: a
   * claim that runs later claims nothing. Unset: no deadline.
   */
  deadline?: Date
}

export interface Claim {
  messages: ClaimedMessage[]
  /**
   * Set when the claim was cut short by the rate limit (how long until it has another
   * whole message), or by making the provider's shared row (0): the caller should claim
   * again then, not at its next poll.
   */
  claimAgainInMs: number | null
  /** The database's clock when the statement started, for a DatabaseClock. */
  databaseTime: Date
  /** The size of the messages table on disk, for PlanRefresh. */
  outboxBytes: number
}

/**
 * Claims up to `limit` due rows in one statement: locks them (skipping rows another
 * dispatcher holds), moves them to `sending` under a fresh lease token that ends
 * `leaseMs` after the database's now(), and counts the attempt (its history row is
 * written with its outcome: recordOutcomes, or reclaimExpired for a call never heard of).
 *
 * A due row whose number is on the suppression list is not sent: it ends `canceled` with
 * `RECIPIENT_SUPPRESSED`. Rows past `expires_at` are left for `expireOverdue`.
 *
 * While `provider` is paused, the statement claims nothing, except one probe row when the
 * pause's probe time has come (never for a pause an admin made by hand); sending a probe
 * moves that time on, so among many dispatchers only one probes, and a claim that finds
 * nothing due uses no probe.
 *
 * With a rate limit, the provider's row in `provider_limits` (its token bucket) is locked
 * for the statement, so that every dispatcher's claims take from one bucket in turn. The
 * migration makes a row for each provider; a claim that finds none (someone deleted it)
 * only makes it, since a missing row cannot be locked and concurrent claims would each
 * spend a fresh bucket. Without a rate limit the statement does not touch that row.
 *
 * The retry budget is read from the view `retry_budget_last_minute`, and each claim adds
 * what it took to one of its provider's `retry_budget_counts` rows, a slot picked at
 * random: claims of many dispatchers run side by side, waiting for one another only when
 * two pick the same slot (bench phase `scale`). The budget is read from a snapshot, so
 * claims running at the same moment may each take the last of it: a retry storm gets at
 * most one claim per dispatcher beyond it. A retry is the claim of a message with a
 * counted attempt behind it: a rate limit's 429 or a paused account does not make one.
 * Retries over the budget stay due, in order, and first attempts go ahead of them; a
 * probe is never held back by the budget.
 *
 * A claim that starts after its `deadline` claims nothing: its caller gave up on it.
 */
export async function claimDue(
  db: Connection,
  { limit, leaseMs, provider, probeIntervalMs, rateLimit, retryBudget, deadline }: ClaimOptions,
): Promise<Claim> {
  const params = [provider, probeIntervalMs, limit, leaseMs, retryBudget?.ratio ?? null, retryBudget?.minPerMinute ?? null, deadline ?? null]
  type Row = ClaimedMessage & Omit<Claim, 'messages'>
  const { rows } = rateLimit
    ? await queryPrepared<Row>(db, 'sms-outbox.claim-due-rate-limited', CLAIM_DUE_RATE_LIMITED, [...params, rateLimit.perSecond, rateLimit.bucketSize])
    : await queryPrepared<Row>(db, 'sms-outbox.claim-due', CLAIM_DUE, params)
  // The statement returns one row even when it claims nothing.
  const { claimAgainInMs, databaseTime, outboxBytes } = rows[0]
  const messages = rows
    .filter((row) => row.id !== null)
    .map(({ claimAgainInMs: _, databaseTime: __, outboxBytes: ___, ...message }) => message)
  return { messages, claimAgainInMs, databaseTime, outboxBytes }
}

// The dispatcher's hot path runs on the pg pool under Prisma, not through Prisma's raw
// queries, which took 2.4 times the CPU (see outbox/enqueue/enqueue.ts and docs/performance.md).

/** Rows of retry_budget_counts per provider: enough that a few dispatchers seldom pick the same. */
export const RETRY_BUDGET_SLOTS = 16

// Parameters: $1 provider, $2 probe interval (ms), $3 limit, $4 lease (ms), $5 and $6 the
// retry budget's ratio and floor per minute, $7 deadline; rate-limited, $8 messages per
// second and $9 the bucket's size.
const claimDueStatement = ({ rateLimited }: { rateLimited: boolean }) => `
  -- paused: whether the provider is paused at all.
  WITH paused AS (
    SELECT 1 FROM sms_outbox.provider_pauses WHERE provider = $1
  -- probe: the pause's probe time has come; its row stays locked, so that another
  -- dispatcher waits and then sees the time this claim moves on (in probed, below).
  ), probe AS (
    SELECT 1 FROM sms_outbox.provider_pauses
    -- A pause an admin made by hand is never probed: it lasts until an admin resumes.
    WHERE provider = $1::text AND next_probe_at <= now() AND paused_by IS NULL
    FOR UPDATE
  -- bucket: the rate limit's tokens, refilled to now (none without a rate limit).
  ), ${rateLimited ? RATE_LIMIT_BUCKET : `bucket AS (
    SELECT NULL::float8 AS tokens, false AS missing, NULL::timestamptz AS at`}
  -- spent_before: the claims the retry budget counted in the last 60 seconds.
  ), spent_before AS (
    SELECT coalesce(sum(first_attempts), 0) AS first_attempts, coalesce(sum(retries), 0) AS retries
    FROM sms_outbox.retry_budget_last_minute WHERE provider = $1
  -- allowance: how many rows this claim may take, and how many of them may be retries.
  ), allowance AS (
    -- LEAST ignores NULLs, so an unset rate limit or retry budget (NULL) caps nothing.
    SELECT b.*,
      -- Past the deadline its caller has stopped waiting (a statement held up in a network
      -- partition runs when the link comes back): rows claimed now would sit under a lease
      -- nobody holds until it ran out.
      CASE WHEN clock_timestamp() > $7::timestamptz THEN 0
           WHEN EXISTS (SELECT 1 FROM probe) THEN 1
           WHEN EXISTS (SELECT 1 FROM paused) OR b.missing THEN 0
           ELSE least($3::int, floor(b.tokens))::int END AS take,
      CASE WHEN EXISTS (SELECT 1 FROM probe) THEN 1
           WHEN $5::float8 IS NULL THEN NULL
           ELSE greatest(0, floor($5::float8 * s.first_attempts + $6::int - s.retries))::int END AS retries_allowed
    FROM bucket b, spent_before s
  -- first_attempts_due: the oldest due messages never tried, locked (others' locks skipped).
  ), first_attempts_due AS (
    -- Each of these two scans has its own index (messages_first_attempts_due_idx,
    -- messages_retries_due_idx), whose predicate is the scan's condition.
    SELECT id, next_attempt_at FROM sms_outbox.messages
    WHERE status = 'pending' AND counted_attempts = 0 AND next_attempt_at <= now() AND expires_at > now()
    ORDER BY next_attempt_at
    LIMIT (SELECT take FROM allowance)
    FOR UPDATE SKIP LOCKED
  -- retries_due: the oldest due retries, as many as the budget allows.
  ), retries_due AS (
    SELECT id, next_attempt_at FROM sms_outbox.messages
    WHERE status = 'pending' AND counted_attempts > 0 AND next_attempt_at <= now() AND expires_at > now()
    ORDER BY next_attempt_at
    LIMIT (SELECT least(take, retries_allowed) FROM allowance)
    FOR UPDATE SKIP LOCKED
  -- due: of both, the oldest, up to the allowance.
  ), due AS (
    SELECT id FROM (SELECT * FROM first_attempts_due UNION ALL SELECT * FROM retries_due) AS candidates
    ORDER BY next_attempt_at
    LIMIT (SELECT take FROM allowance)
  -- suppressed: due messages whose number was suppressed since they came in end canceled.
  ), suppressed AS (
    -- A number suppressed after its message was accepted: the message ends here, unsent.
    -- Both updates read the suppression list in the statement's one snapshot, so each due
    -- row takes exactly one of them.
    UPDATE sms_outbox.messages m
    SET status = 'canceled', last_error_code = '${SUPPRESSED_ERROR_CODE}', last_error = '${SUPPRESSED_ERROR}',
        updated_at = now()
    WHERE m.id = ANY (ARRAY(SELECT id FROM due))
      AND EXISTS (SELECT 1 FROM sms_outbox.suppressions s WHERE s.recipient = m.recipient)
  -- claimed: the rest go to sending under a fresh lease, one more attempt counted.
  ), claimed AS (
    UPDATE sms_outbox.messages m
    SET status = 'sending', attempts = m.attempts + 1, counted_attempts = m.counted_attempts + 1,
        lease_token = gen_random_uuid(), locked_until = now() + $4::int * interval '1 millisecond',
        provider = $1, updated_at = now()
    -- An array, not a join: the planner cannot know how few rows the LIMITs above let
    -- through, and hash-joined a scan of the whole table to them (9 ms against 0.5).
    WHERE m.id = ANY (ARRAY(SELECT id FROM due))
      AND NOT EXISTS (SELECT 1 FROM sms_outbox.suppressions s WHERE s.recipient = m.recipient)
    RETURNING m.id, m.recipient, m.body, m.type, m.attempts, m.counted_attempts, m.max_retries,
              m.lease_token
  -- probed: a probe went out, so the next one waits an interval (none when nothing was due).
  ), probed AS (
    UPDATE sms_outbox.provider_pauses
    SET next_probe_at = now() + $2::int * interval '1 millisecond', probes = probes + 1
    WHERE provider = $1::text AND EXISTS (SELECT 1 FROM probe) AND EXISTS (SELECT 1 FROM claimed)
  -- spent: first attempts and retries taken.
  ), spent AS (
    SELECT count(*) FILTER (WHERE counted_attempts = 1) AS first_attempts,
           count(*) FILTER (WHERE counted_attempts > 1) AS retries
    FROM claimed
  -- counted: what this claim took, added to one slot of the retry budget's counts.
  ), counted AS (
    -- The slot rolls on to this minute first: counts of the minute before become the
    -- previous ones; older counts are forgotten. A slot another claim has already rolled
    -- past this claim's minute (across the minute's turn) is added to as it is.
    INSERT INTO sms_outbox.retry_budget_counts AS c (provider, slot, minute, first_attempts, retries)
    SELECT $1, floor(random() * ${RETRY_BUDGET_SLOTS}), date_trunc('minute', now()), s.first_attempts, s.retries
    FROM spent s WHERE s.first_attempts + s.retries > 0
    ON CONFLICT (provider, slot) DO UPDATE SET
      minute = greatest(c.minute, excluded.minute),
      first_attempts = CASE WHEN c.minute >= excluded.minute THEN c.first_attempts ELSE 0 END + excluded.first_attempts,
      retries = CASE WHEN c.minute >= excluded.minute THEN c.retries ELSE 0 END + excluded.retries,
      previous_first_attempts = CASE WHEN c.minute >= excluded.minute THEN c.previous_first_attempts
                                     WHEN c.minute = excluded.minute - interval '1 minute' THEN c.first_attempts
                                     ELSE 0 END,
      previous_retries = CASE WHEN c.minute >= excluded.minute THEN c.previous_retries
                              WHEN c.minute = excluded.minute - interval '1 minute' THEN c.retries
                              ELSE 0 END
  -- outbox: the table's size, read once (a function in the SELECT below runs per row).
  ), outbox AS MATERIALIZED (
    SELECT pg_relation_size('sms_outbox.messages')::float8 AS bytes
  )${rateLimited ? RATE_LIMIT_WRITES : ''}
  -- One row even when nothing was claimed, to carry claimAgainInMs, the database's time
  -- and the outbox's size.
  SELECT c.id, c.recipient AS "to", c.body AS "text", c.type, c.attempts,
         c.counted_attempts AS "countedAttempts", c.max_retries AS "maxRetries",
         c.lease_token::text AS "leaseToken", EXISTS (SELECT 1 FROM probe) AS probe,
         ${rateLimited ? `CASE WHEN a.missing THEN 0
              WHEN a.tokens - s.first_attempts - s.retries < 1
              THEN ceil((1 - (a.tokens - s.first_attempts - s.retries)) / $8::float8 * 1000)::int
         END` : 'NULL::int'} AS "claimAgainInMs",
         statement_timestamp() AS "databaseTime", o.bytes AS "outboxBytes"
  FROM allowance a CROSS JOIN spent s CROSS JOIN outbox o LEFT JOIN claimed c ON true`

/**
 * The token bucket, read under its row's lock (`locked`, then `held`: the row or none, and
 * when the lock was granted), refilled to that time and capped at the bucket's size.
 */
const RATE_LIMIT_BUCKET = `locked AS (
    SELECT * FROM sms_outbox.provider_limits WHERE provider = $1 FOR UPDATE
  ), held AS (
    -- The time the lock was granted, not the statement's start (now()): a claim that
    -- waited for another's lock must not count that wait as refill the other one spent.
    SELECT l.*, l.provider IS NULL AS missing, clock_timestamp() AS at
    FROM (SELECT) AS always_one_row LEFT JOIN locked l ON true
  ), bucket AS (
    SELECT least($9::float8, coalesce(h.tokens + $8::float8 * extract(epoch FROM h.at - h.refilled_at), $9::float8)) AS tokens,
           h.missing, h.at
    FROM held h`

/** The token bucket written back: a missing row made, or what this claim took from it. */
const RATE_LIMIT_WRITES = `
  -- made: a missing bucket row, made (a claim that made it at the same time wins).
  , made AS (
    INSERT INTO sms_outbox.provider_limits (provider, tokens, refilled_at)
    SELECT $1, a.tokens, a.at FROM allowance a WHERE a.missing
    ON CONFLICT (provider) DO NOTHING
  -- written: the bucket less what this claim took.
  ), written AS (
    -- Refilling is a function of time, so a claim that took nothing has nothing to write.
    UPDATE sms_outbox.provider_limits p
    SET tokens = a.tokens - s.first_attempts - s.retries, refilled_at = a.at
    FROM allowance a, spent s
    WHERE p.provider = $1 AND s.first_attempts + s.retries > 0
  )`

const CLAIM_DUE = claimDueStatement({ rateLimited: false })
const CLAIM_DUE_RATE_LIMITED = claimDueStatement({ rateLimited: true })
