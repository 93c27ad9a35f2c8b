-- no-transaction
-- The unique index on idempotency keys held an entry for every row version, keyless rows
-- (NULL) included: 3 of the 17-18 index entries a sent message writes, for the few
-- messages that carry a key. From here it covers the keys alone. It is built CONCURRENTLY,
-- so enqueues go on meanwhile, which cannot run inside a transaction: each statement below
-- runs on its own, and each can run again after an interruption (the migration is recorded
-- only once all have run). Until the swap, the old index keeps the keys unique.
-- statement-breakpoint
DO $$
BEGIN
  -- An interrupted build leaves its index invalid: build it again.
  IF EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('messages_idempotency_key_new') AND NOT indisvalid) THEN
    DROP INDEX "messages_idempotency_key_new";
  END IF;
END $$;
-- statement-breakpoint
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "messages_idempotency_key_new"
  ON "messages" ("idempotency_key") WHERE "idempotency_key" IS NOT NULL;
-- statement-breakpoint
-- The swap, by name, in one transaction; renaming an index blocks no reads or writes.
DO $$
BEGIN
  IF to_regclass('messages_idempotency_key_key') IS NULL THEN
    ALTER INDEX "messages_idempotency_key_new" RENAME TO "messages_idempotency_key_key";
  ELSIF (SELECT indpred IS NULL FROM pg_index WHERE indexrelid = to_regclass('messages_idempotency_key_key')) THEN
    ALTER INDEX "messages_idempotency_key_key" RENAME TO "messages_idempotency_key_old";
    ALTER INDEX "messages_idempotency_key_new" RENAME TO "messages_idempotency_key_key";
  END IF;
END $$;
-- statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "messages_idempotency_key_old";
-- statement-breakpoint
-- Built again by a run after the swap had happened: not needed.
DROP INDEX CONCURRENTLY IF EXISTS "messages_idempotency_key_new";
