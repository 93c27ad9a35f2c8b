-- What every dispatcher of a provider shares, one row per provider, locked by each claim:
-- the PROVIDER_RATE_LIMIT token bucket, and the retry budget's counts of claims over two
-- one-minute windows (the current one, and the one before it, weighted by how much of it
-- still lies inside the last 60 seconds).
CREATE TABLE "provider_limits" (
    "provider" TEXT NOT NULL,
    "tokens" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "refilled_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
    "window_started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
    "first_attempts" INTEGER NOT NULL DEFAULT 0,
    "retries" INTEGER NOT NULL DEFAULT 0,
    "previous_first_attempts" INTEGER NOT NULL DEFAULT 0,
    "previous_retries" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "provider_limits_pkey" PRIMARY KEY ("provider")
);

-- A row per provider from the start: a claim can only lock a row that exists (claimDue
-- makes a missing one, but claims nothing while it does).
INSERT INTO "provider_limits" ("provider") VALUES ('console'), ('webhook'), ('solapi'), ('twilio');

-- Due messages in two disjoint indexes, in place of one: first attempts (no counted
-- attempt behind them) and retries. A claim walks each in due order, so that retries the
-- budget holds back are never walked past to reach the first attempts behind them, and
-- the other way round. Each scan's condition is its index's predicate: with a filter on
-- counted_attempts over one index instead, a table not yet analyzed (a fresh bulk
-- enqueue) made the planner read and sort every pending row for each claim.
DROP INDEX "messages_due_idx";
CREATE INDEX "messages_first_attempts_due_idx" ON "messages" ("next_attempt_at")
    WHERE "status" = 'pending' AND "counted_attempts" = 0;
CREATE INDEX "messages_retries_due_idx" ON "messages" ("next_attempt_at")
    WHERE "status" = 'pending' AND "counted_attempts" > 0;
