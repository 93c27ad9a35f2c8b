import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifySchema } from 'fastify'
import packageJson from '../../package.json' with { type: 'json' }

export interface OpenApiOptions {
  /** API_TOKEN is set: the caller-facing routes need it, and the document says so. */
  apiTokenRequired: boolean
  /** METRICS_TOKEN is set: /metrics needs it. */
  metricsTokenRequired: boolean
}

type SecurityRequirement = Record<string, string[]>

/**
 * Who may call `url`, by the same rule the token guards apply: ADMIN_TOKEN for the admin
 * API and page, API_TOKEN (when set) for the caller-facing /v1 routes, METRICS_TOKEN (when
 * set) for /metrics, nothing for health and these docs. A route whose schema declares `security` keeps its own.
 */
function securityFor(url: string, { apiTokenRequired, metricsTokenRequired }: OpenApiOptions): SecurityRequirement[] | undefined {
  if (url.startsWith('/v1/admin/') || url === '/admin' || url.startsWith('/admin/')) return [{ adminToken: [] }]
  if (apiTokenRequired && url.startsWith('/v1/')) return [{ apiToken: [] }]
  if (metricsTokenRequired && url === '/metrics') return [{ metricsToken: [] }]
  return undefined
}

/**
 * The OpenAPI 3.1 document at `/docs/json` and Swagger UI at `/docs`, built from the
 * routes' TypeBox schemas. 3.1 rather than 3.0 because its schemas are JSON Schema, so
 * TypeBox's `anyOf [..., {type: 'null'}]` is valid as is. Swagger UI's files come from
 * the @fastify/swagger-ui package: the page works with no internet access.
 *
 * Register it before any route: @fastify/swagger learns the routes from an onRoute hook,
 * and misses those added before it.
 */
export async function registerOpenApi(app: FastifyInstance, options: OpenApiOptions): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'sms-outbox',
        version: packageJson.version,
        description: 'A durable SMS outbox: messages are committed to PostgreSQL before the 202, then delivered with retries.',
      },
      components: {
        securitySchemes: {
          apiToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'API_TOKEN, for /v1/messages* and /v1/notifications/* when it is set',
          },
          adminToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'ADMIN_TOKEN, for /v1/admin/* (printed at boot when generated)',
          },
          metricsToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'METRICS_TOKEN, for /metrics when it is set',
          },
        },
      },
    },
    transform: ({ schema, url }) => {
      const security = securityFor(url, options)
      const documented: FastifySchema & { security?: unknown } = schema ?? {}
      if (!security || documented.security) return { schema: documented, url }
      return { schema: { ...documented, security } as FastifySchema, url }
    },
  })
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    // Swagger UI would otherwise send the document to an online validator.
    validatorUrl: false,
    uiConfig: { docExpansion: 'list', deepLinking: true },
    theme: { title: 'sms-outbox API' },
  })
}
