-- Delivery receipts: what the provider learnt from the carrier after it took a message.
-- The outbox status stays `sent` whatever a receipt says; these columns only report.
ALTER TABLE "messages"
  ADD COLUMN "delivery_status" TEXT NOT NULL DEFAULT 'unknown',
  ADD COLUMN "delivery_at" TIMESTAMPTZ(6),
  ADD COLUMN "delivery_error_code" TEXT,
  -- SOLAPI's receipts are polled: when the next look at this message is due. NULL once
  -- the receipt is final, or the message is older than MESSAGE_TTL_SECONDS, or for
  -- providers that push receipts (Twilio).
  ADD COLUMN "delivery_check_at" TIMESTAMPTZ(6);

ALTER TABLE "messages"
  ADD CONSTRAINT "messages_delivery_status_valid"
    CHECK ("delivery_status" IN ('unknown', 'delivered', 'undelivered')),
  ADD CONSTRAINT "messages_delivery_error_only_when_undelivered"
    CHECK ("delivery_error_code" IS NULL OR "delivery_status" = 'undelivered');

-- A Twilio status callback names the message by its SID: one index probe per callback.
-- Partial: unsent rows have no provider id.
CREATE INDEX "messages_provider_message_id_idx" ON "messages" ("provider", "provider_message_id")
  WHERE "provider_message_id" IS NOT NULL;

-- The receipt poller's due rows; a row leaves the index when its receipt is final.
CREATE INDEX "messages_delivery_check_due_idx" ON "messages" ("delivery_check_at")
  WHERE "delivery_check_at" IS NOT NULL;

-- The admin list's `delivery=undelivered`, newest first like every admin list.
CREATE INDEX "messages_undelivered_created_idx" ON "messages" ("created_at" DESC, "id" DESC)
  WHERE "delivery_status" = 'undelivered';
