-- The admin page's charts, search and manual provider pause.

-- A pause an admin made by hand (paused_by = who) stays until an admin resumes it: no
-- probe message is claimed for it and a probe that goes through does not end it. NULL is
-- the dispatcher's own pause after an account error, which a probe ends.
ALTER TABLE "provider_pauses" ADD COLUMN "paused_by" TEXT;

ALTER TABLE "admin_actions"
  DROP CONSTRAINT "admin_actions_action_valid",
  ADD CONSTRAINT "admin_actions_action_valid"
    CHECK ("action" IN ('retry', 'cancel', 'resume', 'pause', 'suppress', 'unsuppress'));

-- Charts: each series is one range scan of an index, never a scan of the table.
-- Accepted per minute reads messages_status_created_idx (status = ANY(every status) AND
-- created_at >= ...). Sent per minute reads this one, by when the provider took it:
CREATE INDEX "messages_sent_at_idx" ON "messages" ("sent_at") WHERE "status" = 'sent';
-- Dead and expired per minute, by when they ended (the last write to a terminal row; the
-- retention job erases without touching updated_at). Few rows: failures only.
CREATE INDEX "messages_failed_at_idx" ON "messages" ("updated_at", "status")
    WHERE "status" IN ('dead', 'expired');
-- Provider latency p50/p99 per minute, from attempts started in the range.
CREATE INDEX "message_attempts_started_at_idx" ON "message_attempts" ("started_at")
    INCLUDE ("latency_ms");

-- Finding one message by its number (the admin search and the list's `to` filter read
-- the whole table before), newest first.
CREATE INDEX "messages_recipient_idx" ON "messages" ("recipient", "created_at" DESC)
    WHERE "recipient" IS NOT NULL;

-- The queue over time, for the admin page's queue chart: one reading a minute, taken by
-- whichever worker gets there first (the primary key keeps one), kept 8 days.
CREATE TABLE "queue_samples" (
    "at" TIMESTAMPTZ(6) NOT NULL,
    "queued" INTEGER NOT NULL,
    "due" INTEGER NOT NULL,
    "oldest_due_seconds" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "queue_samples_pkey" PRIMARY KEY ("at")
);
