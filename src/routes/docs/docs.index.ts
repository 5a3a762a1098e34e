import { swaggerUI } from '@hono/swagger-ui'
import type { Environment } from '../../config'
import type { Router } from '../../lib/http/router'
import { requireAuth, requireRole } from '../../middleware/auth'

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
 * API docs, gated by environment as the boilerplate did: public in `local`; admins only in
 * `staging` (401 without a token, 403 for anyone else); not registered at all in `production`,
 * so the paths are plain 404s there.
 */
export function registerDocs(app: Router, environment: Environment): void {
  if (environment === 'production') return
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  })
  if (environment === 'staging') app.use('/openapi.json', requireAuth, requireRole('admin'))
  if (environment === 'staging') app.use('/docs', requireAuth, requireRole('admin'))
  app.doc31('/openapi.json', openApiInfo)
  app.get('/docs', swaggerUI({ url: '/openapi.json', title: 'Rapport API' }))
}
