-- The admin page's throughput chart counts undelivered receipts by when the receipt came.
CREATE INDEX "messages_undelivered_at_idx" ON "messages" ("delivery_at") WHERE "delivery_status" = 'undelivered';
