import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Copies the docs page's assets (swagger-ui, the version package-lock.json pins) from
 * node_modules into `public/docs/swagger-ui/`, the Workers static assets directory
 * (wrangler.toml `[assets]`). Run by wrangler's `[build]` step before every `wrangler dev` and
 * `wrangler deploy`, and by the test configuration, so the docs never load anything from the
 * internet and never weigh on the Worker bundle.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
export const docsAssetsDir = join(root, 'public', 'docs', 'swagger-ui')

const files = ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png']

// validatorUrl: null — swagger-ui otherwise asks validator.swagger.io to badge the document.
const init = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  displayOperationId: true,
  validatorUrl: null,
})
`

/** Writes the assets; returns the directory. */
export function buildDocsAssets(): string {
  const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
  rmSync(docsAssetsDir, { recursive: true, force: true })
  mkdirSync(docsAssetsDir, { recursive: true })
  for (const file of files) copyFileSync(join(dist, file), join(docsAssetsDir, file))
  writeFileSync(join(docsAssetsDir, 'init.js'), init)
  return docsAssetsDir
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) buildDocsAssets()
