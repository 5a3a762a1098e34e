import { randomBytes } from 'node:crypto'
import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
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

/**
 * Writes the assets; returns the directory. Safe to run while another run (a test suite, `wrangler
 * dev`) serves or rewrites them: each file is written beside its place and renamed over it, so a
 * reader sees the old file or the new one, never a missing or half-written one.
 */
export function buildDocsAssets(): string {
  const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
  mkdirSync(docsAssetsDir, { recursive: true })
  const wanted = [...files, 'init.js']
  for (const name of readdirSync(docsAssetsDir)) {
    if (!wanted.includes(name) && !name.includes('.tmp-')) rmSync(join(docsAssetsDir, name), { force: true })
  }
  const place = (name: string, write: (path: string) => void) => {
    const temporary = join(docsAssetsDir, `${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
    write(temporary)
    renameSync(temporary, join(docsAssetsDir, name))
  }
  for (const file of files) place(file, (path) => copyFileSync(join(dist, file), path))
  place('init.js', (path) => writeFileSync(path, init))
  return docsAssetsDir
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) buildDocsAssets()
