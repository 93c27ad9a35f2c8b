import { readFileSync } from 'node:fs'
import { ignoreClosedOutput } from './closed-output.ts'
import { CommandFailed, HelpRequested, UsageError, type CommandEntry } from './command.ts'
import { overview } from './usage.ts'

const COMMANDS: CommandEntry[] = [
  {
    name: 'start',
    summary: 'run the service, as `npm start` does (the default)',
    load: async () => (await import('./commands/start.ts')).startCommand,
  },
  {
    name: 'migrate',
    summary: 'apply the migrations the database lacks',
    load: async () => (await import('./commands/migrate.ts')).migrateCommand,
  },
  {
    name: 'list',
    summary: 'messages, newest first, numbers masked',
    load: async () => (await import('./commands/list.ts')).listCommand,
  },
  {
    name: 'retry',
    summary: 'send dead or expired messages again, one or by filter',
    load: async () => (await import('./commands/retry.ts')).retryCommand,
  },
  {
    name: 'suppressions',
    summary: 'the numbers no message is accepted for, numbers masked',
    load: async () => (await import('./commands/suppressions.ts')).suppressionsCommand,
  },
  {
    name: 'suppress',
    summary: 'put a number on the suppression list and cancel its pending messages',
    load: async () => (await import('./commands/suppress.ts')).suppressCommand,
  },
  {
    name: 'unsuppress',
    summary: 'take a number off the suppression list',
    load: async () => (await import('./commands/unsuppress.ts')).unsuppressCommand,
  },
  {
    name: 'stats',
    summary: 'counts by status, dead by error code and per hour (24 h)',
    load: async () => (await import('./commands/stats.ts')).statsCommand,
  },
]

// Exit codes: 0 done, 1 the command failed (or found nothing to act on), 2 a wrong command line.
const FAILED = 1
const BAD_USAGE = 2

/** `sms-outbox [command] [options]`: the exit code, or `running` when the service was started. */
export async function runCli(argv: string[]): Promise<number | 'running'> {
  const [first, ...rest] = argv
  if (first === '--help' || first === '-h' || first === 'help') {
    console.log(overview(COMMANDS))
    return 0
  }
  if (first === '--version' || first === '-v') {
    console.log(packageVersion())
    return 0
  }
  // No command runs the service, so that `npx sms-outbox` alone does what `npm start` does.
  const entry = COMMANDS.find((candidate) => candidate.name === (first ?? 'start'))
  if (!entry) {
    console.error(`sms-outbox: ${first.startsWith('-') ? `unknown option "${first}"` : `unknown command "${first}"`}\n\n${overview(COMMANDS)}`)
    return BAD_USAGE
  }
  // The service keeps its own output handling, as under `npm start`.
  if (entry.name !== 'start') ignoreClosedOutput()
  const command = await entry.load()
  try {
    return await command.run(rest)
  } catch (error) {
    if (error instanceof HelpRequested) {
      console.log(command.usage)
      return 0
    }
    if (error instanceof UsageError) {
      console.error(`sms-outbox ${entry.name}: ${error.message}\n\n${command.usage}`)
      return BAD_USAGE
    }
    // A bad setting (ConfigError, compared by name so that this file need not load the
    // config schema) gets the service's own words, as do failures the command explained.
    if (error instanceof CommandFailed || (error instanceof Error && error.name === 'ConfigError')) {
      console.error(error.message)
    } else {
      console.error(`sms-outbox ${entry.name}: ${error instanceof Error ? error.message : String(error)}`)
    }
    return FAILED
  }
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return manifest.version
}
