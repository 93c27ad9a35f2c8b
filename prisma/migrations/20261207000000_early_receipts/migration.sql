-- A final receipt whose message does not show the provider's id yet: a Twilio status
-- callback can arrive before the dispatcher has written the send's outcome. It waits here
-- until that message shows the id (the worker applies it within seconds) or for a day,
-- when it is dropped (the send was never recorded: a call that timed out but went through,
-- or a message already pruned). No phone number is kept: the provider's id names it.
CREATE TABLE "early_receipts" (
  "provider" TEXT NOT NULL,
  "provider_message_id" TEXT NOT NULL,
  "status" TEXT NOT NULL,
  "error_code" TEXT,
  "at" TIMESTAMPTZ(6) NOT NULL,
  "received_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),

  -- The first final receipt stands, here as on the message.
  CONSTRAINT "early_receipts_pkey" PRIMARY KEY ("provider", "provider_message_id"),
  CONSTRAINT "early_receipts_status_valid" CHECK ("status" IN ('delivered', 'undelivered'))
);
