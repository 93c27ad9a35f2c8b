import type { CommandEntry } from './command.ts'

/** What `sms-outbox --help` prints, and what a wrong command line gets shown. */
export function overview(commands: CommandEntry[]): string {
  const width = Math.max(...commands.map((command) => command.name.length))
  return `Usage: sms-outbox [command] [options]

Commands:
${commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')}

\`sms-outbox <command> --help\` shows a command's options.

The database: DATABASE_URL when set; else the embedded PostgreSQL in DATA_DIR (default
./.data), the one \`npm start\` is running on it, or one started for the command and
stopped after. Every other setting is read from the environment as the service reads it.`
}
