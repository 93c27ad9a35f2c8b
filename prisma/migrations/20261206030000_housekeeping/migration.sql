-- Housekeeping: the retention job erases everything personal, and old terminal rows are
-- pruned (deleted with their attempts) PRUNE_AFTER_HOURS after their last change.

-- Idempotency keys are stored as their SHA-256 in hex from now on (src/outbox/idempotency-key.ts):
-- a key may carry an order number or a phone number, and it must keep deduplicating after
-- the retention job erased its message. Hash the keys already stored, once.
UPDATE "messages" SET "idempotency_key" = encode(sha256(convert_to("idempotency_key", 'UTF8')), 'hex')
WHERE "idempotency_key" IS NOT NULL;

-- Rows the retention job erased before it erased metadata and error texts too.
UPDATE "messages" SET "metadata" = NULL, "last_error" = NULL
WHERE "erased_at" IS NOT NULL AND ("metadata" IS NOT NULL OR "last_error" IS NOT NULL);
UPDATE "message_attempts" a SET "error_message" = NULL
FROM "messages" m
WHERE a."message_id" = m."id" AND m."erased_at" IS NOT NULL AND a."error_message" IS NOT NULL;

-- An erased row keeps status, codes and timestamps, nothing a person could be found by.
-- (The attempts' error texts are erased in the same statement; a CHECK cannot see them.)
ALTER TABLE "messages"
  ADD CONSTRAINT "messages_erased_keeps_nothing_personal"
    CHECK ("erased_at" IS NULL OR ("metadata" IS NULL AND "last_error" IS NULL AND "request_hash" IS NULL));

-- The retention job's work: terminal rows not yet erased, oldest change first. Rows leave
-- the index when erased, so it holds about RETENTION_HOURS of traffic, not the whole table.
CREATE INDEX "messages_retention_due_idx" ON "messages" ("updated_at")
  WHERE "erased_at" IS NULL AND "status" IN ('sent', 'dead', 'expired', 'canceled');

-- The pruner's work: terminal rows, oldest change first. Pending and sending rows are not
-- in it, so they are never pruned whatever their age.
CREATE INDEX "messages_prune_due_idx" ON "messages" ("updated_at")
  WHERE "status" IN ('sent', 'dead', 'expired', 'canceled');

-- Deleting a message sets suppressions.message_id to NULL (ON DELETE SET NULL): without
-- an index every pruned message would read the whole suppression list.
CREATE INDEX "suppressions_message_idx" ON "suppressions" ("message_id") WHERE "message_id" IS NOT NULL;
