import type { FastifyInstance } from 'fastify'
import { loadConfig, type Config } from '../../src/config.ts'
import { buildApp, type AppOptions } from '../../src/http/app.ts'

/**
 * buildApp with only the settings a test cares about: the rest take their defaults
 * through loadConfig, the check main.ts makes, so a test app is configured as the service is.
 */
export function buildTestApp({ config, ...options }: Omit<AppOptions, 'config'> & { config: Partial<Config> }): Promise<FastifyInstance> {
  const environment = Object.fromEntries(
    Object.entries(config)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => [name, String(value)]),
  )
  return buildApp({ ...options, config: loadConfig(environment) })
}
