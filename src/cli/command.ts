import { parseArgs, type ParseArgsConfig } from 'node:util'

/** What one `sms-outbox <name>` command does. */
export interface Command {
  /** What `sms-outbox <name> --help` prints. */
  usage: string
  /**
   * Runs with the arguments after the command name. Resolves to the exit code, or to
   * `running` when the command started something that keeps the process alive (`start`).
   */
  run(args: string[]): Promise<number | 'running'>
}

/**
 * A command as the overview lists it. Its module is loaded only when it runs: `--help`
 * and a mistyped name answer at once instead of loading Prisma and the config schema.
 */
export interface CommandEntry {
  name: string
  /** One line for the overview that `sms-outbox --help` prints. */
  summary: string
  load(): Promise<Command>
}

/** The command line is wrong: print the message and the usage, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** `--help` or `-h` among a command's arguments: print its usage, exit 0. */
export class HelpRequested extends Error {
  override name = 'HelpRequested'
}

/** The command ran and could not do what was asked; the message says why. Exit 1. */
export class CommandFailed extends Error {
  override name = 'CommandFailed'
}

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const

type OptionsConfig = NonNullable<ParseArgsConfig['options']>
type ParsedCommandArgs<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>
>

/**
 * node:util parseArgs in strict mode, with `--help` understood by every command and its
 * errors (unknown flag, missing value, a stray argument) turned into UsageError.
 */
export function parseCommandArgs<O extends OptionsConfig>(
  args: string[],
  options: O,
  { positionals = 0 }: { positionals?: number } = {},
): ParsedCommandArgs<O> {
  let parsed: { values: Record<string, unknown>; positionals: string[] }
  try {
    parsed = parseArgs({ args, options: { ...options, ...HELP_OPTION }, allowPositionals: true, strict: true })
  } catch (error) {
    if (isParseArgsError(error)) throw new UsageError(conciseParseError(error))
    throw error
  }
  if (parsed.values.help) throw new HelpRequested()
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`)
  }
  return parsed as unknown as ParsedCommandArgs<O>
}

// parseArgs goes on to suggest `-- "--flag"` for a positional argument, which none of
// these commands take that way; the option's name is what helps.
function conciseParseError(error: Error): string {
  const unknown = (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && /'([^']+)'/.exec(error.message)
  return unknown ? `unknown option "${unknown[1]}"` : error.message
}

function isParseArgsError(error: unknown): error is Error {
  return error instanceof Error && String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_')
}
