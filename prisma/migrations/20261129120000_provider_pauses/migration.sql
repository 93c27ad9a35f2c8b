-- Rate-limited calls, and calls made while the provider account is failing, are the
-- provider's problem, not the message's: they must not use up its retries. `attempts`
-- keeps counting every call (it numbers message_attempts); `counted_attempts` counts
-- the ones that use the budget.
ALTER TABLE "messages" ADD COLUMN "counted_attempts" INTEGER NOT NULL DEFAULT 0;
UPDATE "messages" SET "counted_attempts" = "attempts";

ALTER TABLE "messages"
  DROP CONSTRAINT "messages_attempts_within_budget",
  ADD CONSTRAINT "messages_attempts_within_budget"
    CHECK ("counted_attempts" >= 0 AND "counted_attempts" <= "attempts"
           AND "counted_attempts" <= "max_retries" + 1);

-- CreateTable
CREATE TABLE "provider_pauses" (
    "provider" TEXT NOT NULL,
    "error_code" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "paused_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "next_probe_at" TIMESTAMPTZ(6) NOT NULL,
    "probes" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "provider_pauses_pkey" PRIMARY KEY ("provider")
);
