-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "messages" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "status" TEXT NOT NULL DEFAULT 'pending',
    "recipient" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "bytes" INTEGER NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "max_retries" INTEGER NOT NULL,
    "next_attempt_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "locked_until" TIMESTAMPTZ(6),
    "lease_token" UUID,
    "last_error_code" TEXT,
    "last_error" TEXT,
    "provider" TEXT,
    "provider_message_id" TEXT,
    "idempotency_key" TEXT,
    "request_hash" TEXT,
    "metadata" JSONB,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMPTZ(6),
    "expires_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "message_attempts" (
    "message_id" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(6),
    "outcome" TEXT,
    "error_code" TEXT,
    "error_message" TEXT,
    "http_status" INTEGER,
    "latency_ms" INTEGER,
    "provider_message_id" TEXT,

    CONSTRAINT "message_attempts_pkey" PRIMARY KEY ("message_id","attempt")
);

-- CreateIndex
CREATE UNIQUE INDEX "messages_idempotency_key_key" ON "messages"("idempotency_key");

-- AddForeignKey
ALTER TABLE "message_attempts" ADD CONSTRAINT "message_attempts_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Hand-written below: what the Prisma schema language cannot express.

-- The state machine (docs: README "Message states"). A row violating one of these is a
-- bug in a writer, so the database refuses it rather than storing it.
ALTER TABLE "messages"
  ADD CONSTRAINT "messages_status_valid"
    CHECK ("status" IN ('pending', 'sending', 'sent', 'dead', 'expired', 'canceled')),
  ADD CONSTRAINT "messages_type_valid" CHECK ("type" IN ('SMS', 'LMS')),
  ADD CONSTRAINT "messages_bytes_positive" CHECK ("bytes" > 0),
  ADD CONSTRAINT "messages_max_retries_non_negative" CHECK ("max_retries" >= 0),
  ADD CONSTRAINT "messages_attempts_within_budget"
    CHECK ("attempts" >= 0 AND "attempts" <= "max_retries" + 1),
  -- A lease exists exactly while a dispatcher holds the row.
  ADD CONSTRAINT "messages_lease_only_while_sending"
    CHECK (("status" = 'sending') = ("lease_token" IS NOT NULL AND "locked_until" IS NOT NULL)),
  ADD CONSTRAINT "messages_sent_at_only_when_sent"
    CHECK (("status" = 'sent') = ("sent_at" IS NOT NULL));

ALTER TABLE "message_attempts"
  ADD CONSTRAINT "message_attempts_attempt_positive" CHECK ("attempt" >= 1),
  ADD CONSTRAINT "message_attempts_outcome_valid"
    CHECK ("outcome" IN ('ok', 'retryable', 'rate_limited', 'account', 'permanent', 'ambiguous')),
  -- An attempt is in flight (no outcome, not finished) or done (both).
  ADD CONSTRAINT "message_attempts_finished_with_outcome"
    CHECK (("outcome" IS NULL) = ("finished_at" IS NULL));

-- Claiming reads only pending rows in due order; the partial index stays as small as the
-- backlog however many sent rows pile up.
CREATE INDEX "messages_due_idx" ON "messages" ("next_attempt_at") WHERE "status" = 'pending';

-- Reclaiming reads only sending rows whose lease ran out.
CREATE INDEX "messages_lease_expiry_idx" ON "messages" ("locked_until") WHERE "status" = 'sending';

-- Wakes idle dispatchers (LISTEN sms_outbox_due) when due rows arrive, whoever inserts
-- them: the API, the transaction of a library caller, or psql. One notification per
-- statement, delivered at commit; PostgreSQL folds repeats within a transaction.
CREATE FUNCTION "sms_outbox_notify_due"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM inserted WHERE "status" = 'pending' AND "next_attempt_at" <= now()) THEN
    PERFORM pg_notify('sms_outbox_due', '');
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "messages_notify_due"
  AFTER INSERT ON "messages"
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION "sms_outbox_notify_due"();
