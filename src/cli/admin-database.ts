import type { Config } from '../config.ts'
import { connectDatabase, type PrismaClient } from '../db/database.ts'
import { applyMigrations, pendingMigrations } from '../db/migrations.ts'
import { CommandFailed } from './command.ts'
import { withDatabaseServer } from './database-server.ts'

/**
 * Runs `use` with a Prisma client on the outbox database, closed afterwards, once the
 * database has every migration. An embedded server the command started itself is
 * migrated here, as `npm start` would do on the same DATA_DIR. Anyone else's database is
 * not changed behind their back: a missing migration stops the command with a hint.
 */
export async function withAdminDatabase<T>(config: Config, use: (prisma: PrismaClient) => Promise<T>): Promise<T> {
  return withDatabaseServer(config, async (url, source) => {
    if (source === 'embedded server started for this command') {
      const applied = await applyMigrations(url)
      if (applied.length > 0) console.error(`applied ${applied.length} migrations: ${applied.join(', ')}`)
    }
    // Two connections: the commands run one statement at a time.
    const database = connectDatabase(url, { poolSize: 2 })
    try {
      const pending = await pendingMigrations(database.pool)
      if (pending.length > 0) {
        throw new CommandFailed(
          `the database (from ${source}) lacks migrations ${pending.join(', ')}: run \`sms-outbox migrate\` first`,
        )
      }
      return await use(database.prisma)
    } finally {
      await database.close()
    }
  })
}
