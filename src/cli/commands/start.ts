import { parseCommandArgs, type Command } from '../command.ts'

export const startCommand: Command = {
  usage: `Usage: sms-outbox start

Runs the service as \`npm start\` does: the API and/or a dispatcher by ROLE, on DATABASE_URL
or the embedded PostgreSQL in DATA_DIR, configured by the environment. Ctrl-C stops it.`,
  async run(args) {
    parseCommandArgs(args, {})
    // main.ts boots the service when it is imported, exactly as under `npm start`, and
    // owns the process from then on: its signal handlers decide when it exits.
    await import('../../main.ts')
    return 'running'
  },
}
