-- The suppression list: numbers a provider called permanently untextable (invalid, opted
-- out, not a mobile), or that an admin added. Enqueue refuses them (422) until an admin
-- removes them. The list keeps full numbers on purpose and the retention job leaves it
-- alone: forgetting an opt-out would text someone who said STOP (README "Personal data").
CREATE TABLE "suppressions" (
    "recipient" TEXT NOT NULL,
    -- Lets the admin page name an entry whose number it only shows masked.
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "reason" TEXT NOT NULL,
    "error_code" TEXT,
    "provider" TEXT,
    "message_id" UUID,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "suppressions_pkey" PRIMARY KEY ("recipient")
);

CREATE UNIQUE INDEX "suppressions_id_key" ON "suppressions"("id");

ALTER TABLE "suppressions" ADD CONSTRAINT "suppressions_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- No CHECK on the number's form: the dispatcher writes suppressions in the statement that
-- records a batch of outcomes, and a row put into messages by hand in another form must
-- not make that whole batch fail. The API and the CLI store E.164, as enqueue looks it up.
ALTER TABLE "suppressions"
  ADD CONSTRAINT "suppressions_reason_valid" CHECK ("reason" IN ('invalid_number', 'opted_out', 'not_mobile'));

-- The admin list: newest first, paged by (created_at, recipient).
CREATE INDEX "suppressions_created_idx" ON "suppressions" ("created_at" DESC, "recipient" DESC);

-- Admins add and remove numbers: the action's subject is the number, kept in `recipient`
-- until the retention job erases it (a masked copy stays in `detail`).
ALTER TABLE "admin_actions" ADD COLUMN "recipient" TEXT;

ALTER TABLE "admin_actions"
  DROP CONSTRAINT "admin_actions_action_valid",
  ADD CONSTRAINT "admin_actions_action_valid"
    CHECK ("action" IN ('retry', 'cancel', 'resume', 'suppress', 'unsuppress')),
  DROP CONSTRAINT "admin_actions_has_subject",
  ADD CONSTRAINT "admin_actions_has_subject"
    CHECK ("message_id" IS NOT NULL OR "provider" IS NOT NULL OR "action" IN ('suppress', 'unsuppress')),
  ADD CONSTRAINT "admin_actions_recipient_only_for_suppressions"
    CHECK ("recipient" IS NULL OR "action" IN ('suppress', 'unsuppress'));
