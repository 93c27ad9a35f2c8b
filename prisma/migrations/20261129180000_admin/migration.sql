-- The retention job erases the number and the text of old terminal rows (the PII purge);
-- status, timestamps and attempts stay for the statistics.
ALTER TABLE "messages"
  ALTER COLUMN "recipient" DROP NOT NULL,
  ALTER COLUMN "body" DROP NOT NULL,
  ADD COLUMN "erased_at" TIMESTAMPTZ(6),
  ADD CONSTRAINT "messages_erased_together"
    CHECK (("erased_at" IS NULL) = ("recipient" IS NOT NULL AND "body" IS NOT NULL)),
  ADD CONSTRAINT "messages_erased_only_when_terminal"
    CHECK ("erased_at" IS NULL OR "status" IN ('sent', 'dead', 'expired', 'canceled'));

-- CreateTable
CREATE TABLE "admin_actions" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "message_id" UUID,
    "provider" TEXT,
    "detail" JSONB,

    CONSTRAINT "admin_actions_pkey" PRIMARY KEY ("id")
);

ALTER TABLE "admin_actions" ADD CONSTRAINT "admin_actions_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "admin_actions"
  ADD CONSTRAINT "admin_actions_action_valid" CHECK ("action" IN ('retry', 'cancel', 'resume')),
  ADD CONSTRAINT "admin_actions_has_subject" CHECK ("message_id" IS NOT NULL OR "provider" IS NOT NULL);

CREATE INDEX "admin_actions_message_idx" ON "admin_actions" ("message_id") WHERE "message_id" IS NOT NULL;

-- The admin list: one status (or a few), newest first, paged by (created_at, id).
CREATE INDEX "messages_status_created_idx" ON "messages" ("status", "created_at" DESC, "id" DESC);
