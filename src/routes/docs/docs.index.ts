import { z } from '@hono/zod-openapi'
import type { Environment } from '../../config'
import type { Router } from '../../lib/http/router'
import { requireAuth, requireRole } from '../../middleware/auth'
import { normalizeDocument, responseHeaders } from '../../lib/http/openapi'
import * as profileFields from '../../services/profiles/fields'

export const openApiInfo: Parameters<Router['getOpenAPI31Document']>[0] = {
  openapi: '3.1.0',
  info: {
    title: 'Rapport API',
    version: '0.1.0',
    description:
      'Open backend for dating and social apps. Errors are `application/problem+json` with a stable `code`; ' +
      'every response carries `X-Request-Id`.',
    license: { name: 'AGPL-3.0-only', url: 'https://www.gnu.org/licenses/agpl-3.0.html' },
  },
  // Relative: the document describes the server that serves it, whichever host that is.
  servers: [{ url: '/', description: 'This server' }],
}

/**
 * The docs page: swagger-ui from this server's static assets (public/docs/swagger-ui, copied from
 * the pinned swagger-ui-dist by scripts/docs-assets.ts), so it renders with no internet.
 */
const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rapport API</title>
<link rel="stylesheet" href="/docs/swagger-ui/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/swagger-ui/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui/init.js"></script>
</body>
</html>
`

/** The OpenAPI 3.1 document of `app`, as served at `/openapi.json`. */
export function openApiDocument(app: Router) {
  return normalizeDocument(app.getOpenAPI31Document(openApiInfo))
}

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
  // The generator names a shared schema after the first use it meets; when that use is nullable
  // (`GenderSchema.nullable()` in a response), the component itself became nullable and every
  // request field using it accepted null. Registering the plain schemas first fixes the
  // components; nullable uses then reference them (see normalizeDocument).
  for (const [exported, schema] of Object.entries(profileFields)) {
    if (schema instanceof z.ZodEnum && exported.endsWith('Schema')) {
      app.openAPIRegistry.register(exported.slice(0, -'Schema'.length), schema)
    }
  }
  for (const [name, header] of Object.entries(responseHeaders)) {
    app.openAPIRegistry.registerComponent('headers', name, header)
  }
  if (environment === 'staging') app.use('/openapi.json', requireAuth, requireRole('admin'))
  if (environment === 'staging') app.use('/docs', requireAuth, requireRole('admin'))
  let document: unknown
  app.get('/openapi.json', (c) => c.json((document ??= openApiDocument(app))))
  app.get('/docs', (c) => c.html(docsPage))
}
