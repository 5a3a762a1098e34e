import { swaggerUI } from '@hono/swagger-ui'
import type { Environment } from '../../config'
import type { Router } from '../../lib/router'

export const openApiInfo = {
  openapi: '3.1.0',
  info: {
    title: 'Rapport API',
    version: '0.1.0',
    description:
      'Open backend for dating and social apps. Errors are `application/problem+json` with a stable `code`; ' +
      'every response carries `X-Request-Id`.',
    license: { name: 'AGPL-3.0-only' },
  },
} as const

/**
 * API docs, gated by environment as the boilerplate did: public in `local`; not registered at
 * all in `production` (so the paths are plain 404s). `staging` restricts them to admins; until
 * the accounts issue adds roles it is treated like production.
 */
export function registerDocs(app: Router, environment: Environment): void {
  if (environment !== 'local') return
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  })
  app.doc31('/openapi.json', openApiInfo)
  app.get('/docs', swaggerUI({ url: '/openapi.json', title: 'Rapport API' }))
}
