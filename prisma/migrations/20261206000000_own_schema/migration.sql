-- The outbox lives in the schema sms_outbox (the runner applies every migration with
-- search_path = sms_outbox), but a function resolves the names in its body with the
-- search_path of whoever fires it: a library caller's connection has the default one,
-- which does not include sms_outbox. Pinning the function's own search_path makes it
-- behave the same on every connection, and no table of the caller's can shadow ours.
ALTER FUNCTION "sms_outbox_notify_due"() SET search_path = sms_outbox, pg_catalog;
