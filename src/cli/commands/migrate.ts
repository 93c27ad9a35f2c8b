import { applyMigrations } from '../../db/migrations.ts'
import { parseCommandArgs, type Command } from '../command.ts'
import { withDatabaseServer } from '../database-server.ts'
import { loadServiceConfig } from '../service-config.ts'

export const migrateCommand: Command = {
  usage: `Usage: sms-outbox migrate

Applies the migrations in prisma/migrations that the database lacks, each in its own
transaction, into the schema sms_outbox (an outbox still in public is moved there first),
and prints their names. The service does the same when it boots; this is
for upgrading a database before the new version starts.`,
  async run(args) {
    parseCommandArgs(args, {})
    const config = await loadServiceConfig()
    const applied = await withDatabaseServer(config, (url) => applyMigrations(url))
    if (applied.length === 0) console.log('no pending migrations: the database is up to date')
    else console.log(`applied ${applied.length} migration${applied.length === 1 ? '' : 's'}:\n${applied.map((name) => `  ${name}`).join('\n')}`)
    return 0
  },
}
