-- Suppressing a number cancels its pending messages; messages_recipient_idx (recipient,
-- created_at DESC), which search added later, finds them as well. This partial index took
-- an entry for every enqueue and every retry for that one rare admin action.
DROP INDEX IF EXISTS "messages_pending_recipient_idx";
