-- The suppression list pages by (created_at, id), not by the number: a cursor travels in
-- URLs, and URLs end up in access logs, proxies and browser history.
DROP INDEX "suppressions_created_idx";
CREATE INDEX "suppressions_created_idx" ON "suppressions" ("created_at" DESC, "id" DESC);

-- Suppressing a number cancels its pending messages at once: they are found by number.
-- Only pending rows, which always keep their number (retention erases terminal rows only),
-- so the index stays as small as the queue.
CREATE INDEX "messages_pending_recipient_idx" ON "messages" ("recipient") WHERE "status" = 'pending';
