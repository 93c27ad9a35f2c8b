-- The retry budget's counts leave provider_limits for rows of their own. Every claim that
-- took a message added to its provider's one provider_limits row and held that row's lock
-- until its commit was flushed, so dispatchers of one provider queued behind each other
-- even with no rate limit to share. Each claim now adds to one of 16 rows of its provider
-- (a slot picked at random), so two claims wait for each other only when they pick the
-- same slot; the budget reads the sum of them (retry_budget_last_minute).
--
-- Old dispatchers' claims fail on the dropped columns (they claim nothing; no message is
-- lost) until they stop: stop them before migrating, as for any upgrade.
CREATE TABLE "retry_budget_counts" (
  "provider" TEXT NOT NULL,
  "slot" SMALLINT NOT NULL,
  -- the clock minute that first_attempts and retries count; the previous_ columns count
  -- the minute before it
  "minute" TIMESTAMPTZ(6) NOT NULL,
  "first_attempts" INTEGER NOT NULL DEFAULT 0,
  "retries" INTEGER NOT NULL DEFAULT 0,
  "previous_first_attempts" INTEGER NOT NULL DEFAULT 0,
  "previous_retries" INTEGER NOT NULL DEFAULT 0,

  CONSTRAINT "retry_budget_counts_pkey" PRIMARY KEY ("provider", "slot")
);

-- The counts so far, into slot 0 (their window, which began at any second, rounded down
-- to its minute): the budget goes on from them instead of starting over.
INSERT INTO "retry_budget_counts"
  ("provider", "slot", "minute", "first_attempts", "retries", "previous_first_attempts", "previous_retries")
SELECT "provider", 0, date_trunc('minute', "window_started_at"), "first_attempts", "retries",
       "previous_first_attempts", "previous_retries"
FROM "provider_limits"
WHERE "first_attempts" + "retries" + "previous_first_attempts" + "previous_retries" > 0;

ALTER TABLE "provider_limits"
  DROP COLUMN "window_started_at",
  DROP COLUMN "first_attempts",
  DROP COLUMN "retries",
  DROP COLUMN "previous_first_attempts",
  DROP COLUMN "previous_retries";

-- Claims of each provider in the last 60 seconds, as the retry budget counts them (and
-- the admin page shows them): this minute's, plus the previous minute's weighted by the
-- share of it still inside the 60 seconds (the sliding-window counter of Cloudflare's
-- rate limiter: exact for steady traffic, and a few rows per provider instead of a row
-- per claim). A slot written at a later minute than now() (by a claim that started a
-- moment after this one, across the minute's turn) counts as this minute.
CREATE VIEW "retry_budget_last_minute" AS
SELECT c."provider",
  sum(CASE WHEN c."minute" >= w."this_minute" THEN c."first_attempts" + c."previous_first_attempts" * w."previous_weight"
           WHEN c."minute" = w."this_minute" - interval '1 minute' THEN c."first_attempts" * w."previous_weight"
           ELSE 0 END)::float8 AS "first_attempts",
  sum(CASE WHEN c."minute" >= w."this_minute" THEN c."retries" + c."previous_retries" * w."previous_weight"
           WHEN c."minute" = w."this_minute" - interval '1 minute' THEN c."retries" * w."previous_weight"
           ELSE 0 END)::float8 AS "retries"
FROM "retry_budget_counts" c
CROSS JOIN (
  SELECT date_trunc('minute', now()) AS "this_minute",
         1 - extract(epoch FROM now() - date_trunc('minute', now())) / 60 AS "previous_weight"
) w
GROUP BY c."provider";
