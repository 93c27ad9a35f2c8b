-- Admin page sessions, kept here so that logout and expiry end them (a cookie that only
-- the browser expired could be copied and replayed). The cookie holds a random session id;
-- the row holds HMAC-SHA256(key = ADMIN_TOKEN, session id), never the id: a database reader
-- cannot make a cookie from it, and a new ADMIN_TOKEN matches no row, which ends every session.
CREATE TABLE "admin_sessions" (
    "session_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "admin_sessions_pkey" PRIMARY KEY ("session_hash")
);

-- Expired sessions are deleted at each login.
CREATE INDEX "admin_sessions_expires_at_idx" ON "admin_sessions"("expires_at");

-- Admin page logins not known to have succeeded, one row each, for the limit of 10 failed
-- logins per client address per minute that every API process shares. A successful login
-- deletes its row; rows older than a minute are deleted as new ones arrive.
CREATE TABLE "admin_login_failures" (
    "id" BIGSERIAL NOT NULL,
    "client_address" TEXT NOT NULL,
    "failed_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "admin_login_failures_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "admin_login_failures_client_address_failed_at_idx" ON "admin_login_failures"("client_address", "failed_at");

CREATE INDEX "admin_login_failures_failed_at_idx" ON "admin_login_failures"("failed_at");
