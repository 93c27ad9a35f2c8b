/**
 * The PostgreSQL schema that holds every table, function and trigger of the outbox, and its
 * migration history. Its own schema, so that the outbox can share a database with the
 * application that embeds it: the host's `public` tables and its `_prisma_migrations` stay
 * its own, and its Prisma sees no drift. SQL under src/ names tables as `sms_outbox.<table>`.
 */
export const OUTBOX_SCHEMA = 'sms_outbox'
