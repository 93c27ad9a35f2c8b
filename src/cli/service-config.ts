import type { Config } from '../config.ts'

/**
 * The service's loadConfig, imported when a command needs it rather than when the CLI
 * starts: its schema library takes most of a second to load, which `--help` and a
 * mistyped flag should not have to wait for.
 */
export async function loadServiceConfig(): Promise<Config> {
  const { loadConfig } = await import('../config.ts')
  return loadConfig()
}
