import { execFile } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createClient as heyApi } from '@hey-api/openapi-ts'
import { createConfig, lintFromString } from '@redocly/openapi-core'
import openapiTS, { astToString } from 'openapi-typescript'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChatStack, startChatStack } from '../bench/chat'

/**
 * The API contract as a client developer meets it: the document served by `wrangler dev`
 * generates clients that compile, lints clean, and the docs page renders offline in a real
 * browser. Redis: logical database 9 (TEST_CONTRACT_REDIS_URL), flushed; PostgreSQL: a fresh
 * database, dropped afterwards.
 */

const root = fileURLToPath(new URL('..', import.meta.url))
const run = promisify(execFile)

interface Operation {
  operationId?: string
  security?: Record<string, string[]>[]
  requestBody?: { content: Record<string, { schema: Schema }> }
  parameters?: { name: string; in: string; schema: Schema }[]
  responses: Record<string, { headers?: Record<string, { $ref?: string }> }>
}
type Schema = { [key: string]: unknown }
interface Document {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, Schema>; headers: Record<string, unknown> }
}

let stack: ChatStack
let dataDir: string
let work: string
let documentText: string
let document: Document

beforeAll(async () => {
  // A fresh `npm ci` leaves no node_modules/.cache: make it before the temporary folders in it.
  mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true })
  dataDir = mkdtempSync(join(root, 'node_modules', '.cache', 'rapport-contract-data-'))
  // Inside the repository, so generated code resolves openapi-fetch and TypeScript's DOM types.
  work = mkdtempSync(join(root, 'node_modules', '.cache', 'rapport-contract-'))
  stack = await startChatStack({
    redisUrl: process.env.TEST_CONTRACT_REDIS_URL ?? 'redis://127.0.0.1:6379/9',
    dataDir,
  })
  documentText = await (await fetch(`${stack.url}/openapi.json`)).text()
  document = JSON.parse(documentText) as Document
  writeFileSync(join(work, 'openapi.json'), documentText)
}, 120_000)

afterAll(async () => {
  await stack?.stop()
  for (const dir of [dataDir, work]) if (dir) rmSync(dir, { recursive: true, force: true })
}, 30_000)

const operations = () =>
  Object.entries(document.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
  )

/**
 * `tsc --strict` over `files`, in one program: the errors it reports, by file (paths relative to
 * the work folder). One program rather than one per client: each run spends most of its time
 * loading the DOM and Node declarations, which every file here shares.
 */
async function typeErrors(files: string[]): Promise<Map<string, string[]>> {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const args = [
    tsc,
    '--strict',
    '--noEmit',
    '--pretty',
    'false',
    '--target',
    'es2022',
    '--module',
    'esnext',
    '--moduleResolution',
    'bundler',
    '--lib',
    'es2022,dom,dom.iterable',
    '--types',
    'node',
    ...files,
  ]
  let output: string
  try {
    output = (await run(process.execPath, args, { cwd: work, maxBuffer: 16 * 1024 * 1024 })).stdout
  } catch (err) {
    const e = err as { stdout?: string; message: string }
    if (e.stdout === undefined) throw err
    output = e.stdout
  }
  // Each diagnostic starts `file(line,col): error TS…`; its continuation lines are indented.
  // Output that is no diagnostic (a crash, a bad option) counts as an error of its own.
  const errors = new Map<string, string[]>()
  let last: { list: string[]; index: number } | undefined
  for (const line of output.split('\n')) {
    if (!line.trim()) continue
    const start = /^(\S[^(]*)\(\d+,\d+\): error /.exec(line)
    if (!start && last && /^\s/.test(line)) {
      last.list[last.index] += `\n${line}`
      continue
    }
    const file = start ? start[1]! : '(tsc)'
    const list = errors.get(file) ?? []
    errors.set(file, list)
    last = { list, index: list.push(line) - 1 }
  }
  return errors
}

/** The errors reported for files under any of `prefixes`, one string per diagnostic. */
const errorsIn = (errors: Map<string, string[]>, ...prefixes: string[]) =>
  [...errors].flatMap(([file, list]) =>
    file === '(tsc)' || prefixes.some((prefix) => file.startsWith(prefix)) ? list : [],
  )

describe('the OpenAPI document', () => {
  it('gives every operation a unique camelCase operationId', () => {
    const ids = operations().map(({ name, op }) => [name, op.operationId] as const)
    expect(ids.length).toBeGreaterThan(90)
    expect(ids.filter(([, id]) => !id || !/^[a-z][a-zA-Z0-9]+$/.test(id))).toEqual([])
    const seen = new Map<string, string>()
    for (const [name, id] of ids) {
      expect(seen.get(id!), `${id} of ${name}`).toBeUndefined()
      seen.set(id!, name)
    }
  })

  it('names each component once in the source (a second schema of the same name would replace the first)', () => {
    const names = new Map<string, string[]>()
    const sources = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    )
    for (const file of sources) {
      // Code only: doc comments show examples.
      const text = readFileSync(join(root, 'src', file), 'utf8')
        .split('\n')
        .filter((line) => !/^\s*(\*|\/\/)/.test(line))
        .join('\n')
      for (const m of text.matchAll(
        /\.openapi\(\s*'([A-Za-z0-9]+)'|pageSchema\([^,]+,\s*'([A-Za-z0-9]+)'/g,
      )) {
        const name = (m[1] ?? m[2])!
        names.set(name, [...(names.get(name) ?? []), file])
      }
    }
    expect(names.size).toBeGreaterThan(50)
    expect([...names].filter(([, files]) => files.length > 1)).toEqual([])
  })

  it('has no schema that references itself', () => {
    const selfRefs = Object.entries(document.components.schemas)
      .filter(([name, schema]) => JSON.stringify(schema).includes(`"#/components/schemas/${name}"`))
      .map(([name]) => name)
    expect(selfRefs).toEqual([])
  })

  it('types every field of another member’s profile, clubs included', () => {
    const schemas = document.components.schemas
    const ref = (
      document.paths['/api/v1/profiles/{idOrSlug}']!.get!.responses['200'] as {
        content: { 'application/json': { schema: { $ref: string } } }
      }
    ).content['application/json'].schema.$ref
    const view = schemas[ref.split('/').pop()!] as { allOf: [{ $ref: string }, Schema] }
    const base = schemas[view.allOf[0].$ref.split('/').pop()!] as { properties: Schema }
    expect(Object.keys(base.properties)).toEqual(
      expect.arrayContaining(['id', 'name', 'age', 'about', 'photos']),
    )
    expect(view.allOf[1]).toMatchObject({ properties: { clubs: { type: 'array' } } })
  })

  it('documents nullable uses of shared enums as nullable, and the enums themselves as not', () => {
    const schemas = document.components.schemas
    for (const [name, schema] of Object.entries(schemas)) {
      if (Array.isArray(schema.enum)) expect(schema.enum, name).not.toContain(null)
    }
    const searchResult = schemas.SearchResult as { properties: Record<string, Schema> }
    expect(searchResult.properties.verificationRequiredToView).toMatchObject({
      anyOf: [{ $ref: '#/components/schemas/VerificationLevel' }, { type: 'null' }],
    })
    const exportKeys = Object.keys((schemas.AccountExport as { properties: Schema }).properties)
    expect(exportKeys).toEqual(
      expect.arrayContaining(['searchAnswerFilters', 'inbox', 'messages', 'clubs', 'visits']),
    )
  })

  it('documents the limits the server enforces', () => {
    const schemas = document.components.schemas as Record<string, { properties: Record<string, Schema> }>
    expect(schemas.SendMessage!.properties.body).toMatchObject({ maxLength: 5000 })
    expect(schemas.JoinClubInput!.properties.name).toMatchObject({ maxLength: 42 })
    expect(schemas.Theme!.properties.titleColor).toMatchObject({ maxLength: 7 })
    // "Exactly one filter" and "at least one field", as far as OpenAPI can say them.
    expect(schemas.SearchFilterPatch).toMatchObject({ minProperties: 1, maxProperties: 1 })
    expect(schemas.ProfilePatch).toMatchObject({ minProperties: 1 })
    expect(schemas.OnboardingPatch).toMatchObject({ minProperties: 1 })
    const otp = document.paths['/api/v1/auth/otp']!.post!.requestBody!.content['application/json']!
      .schema as {
      properties: Record<string, Schema>
    }
    expect(otp.properties.pendingClub).toMatchObject({ maxLength: 42 })
    const club = document.paths['/api/v1/stats']!.get!.parameters!.find((p) => p.name === 'club')
    expect(club?.schema).toMatchObject({ maxLength: 42 })
  })

  it('applies the shared headers, security and error responses to every operation', () => {
    expect(Object.keys(document.components.headers).sort()).toEqual(
      ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After', 'X-Request-Id'].sort(),
    )
    for (const { name, op } of operations()) {
      expect(Array.isArray(op.security), `${name} security`).toBe(true)
      const bearer = op.security!.some((r) => 'bearerAuth' in r)
      if (bearer) expect(Object.keys(op.responses), name).toContain('401')
      if (op.requestBody?.content['application/json']) {
        expect(Object.keys(op.responses), name).toEqual(expect.arrayContaining(['400', '415', '422']))
      }
      const limited = !/^\/(health|media)\b/.test(name.split(' ')[1]!)
      if (limited) expect(Object.keys(op.responses), name).toContain('429')
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.headers?.['X-Request-Id'], `${name} ${status}`).toEqual({
          $ref: '#/components/headers/X-Request-Id',
        })
        if (limited) expect(response.headers?.['RateLimit-Remaining'], `${name} ${status}`).toBeDefined()
        if (status === '429') expect(response.headers?.['Retry-After'], `${name} 429`).toBeDefined()
      }
    }
    const publicOps = operations().filter(({ op }) => op.security?.length === 0)
    expect(publicOps.map((o) => o.name)).toEqual(
      expect.arrayContaining(['GET /health', 'POST /api/v1/auth/otp', 'GET /api/v1/places']),
    )
    // The Problem example shows the field paths the server writes.
    expect(JSON.stringify(document.components.schemas.Problem)).toContain('json.email')
  })

  it('passes Redocly’s recommended rules with zero errors', async () => {
    const config = await createConfig({ extends: ['recommended'] })
    const problems = await lintFromString({
      source: documentText,
      absoluteRef: join(work, 'openapi.json'),
      config,
    })
    const errors = problems
      .filter((p) => p.severity === 'error')
      .map((p) => `${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`)
    expect(errors).toEqual([])
  })
})

describe('generated clients', () => {
  let errors: Map<string, string[]>

  // Both generators' output and the programs written against it, type-checked together once.
  beforeAll(async () => {
    const ast = await openapiTS(documentText)
    writeFileSync(join(work, 'schema.ts'), astToString(ast))
    copyFileSync(join(root, 'test/contract/member-journey.openapi-fetch.ts'), join(work, 'journey.ts'))
    writeFileSync(
      join(work, 'wrong.ts'),
      `import createClient from 'openapi-fetch'\nimport type { paths } from './schema'\n` +
        `const c = createClient<paths>({ baseUrl: '' })\n` +
        `void c.PATCH('/api/v1/onboarding', { body: { gender: 'robot' } })\n`,
    )
    await heyApi({
      input: join(work, 'openapi.json'),
      output: { path: join(work, 'hey') },
      plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'],
      logs: { level: 'silent' },
    })
    copyFileSync(join(root, 'test/contract/member-journey.hey-api.ts'), join(work, 'hey-journey.ts'))
    errors = await typeErrors(['journey.ts', 'wrong.ts', 'hey-journey.ts', ...generated(join(work, 'hey'))])
  }, 120_000)

  it('openapi-typescript + openapi-fetch: a member journey compiles under tsc --strict', () => {
    expect(errorsIn(errors, 'journey.ts', 'schema.ts')).toEqual([])
  })

  it('openapi-typescript output is strict: a wrong field type does not compile', () => {
    const wrong = errorsIn(errors, 'wrong.ts')
    expect(wrong).toHaveLength(1)
    expect(wrong[0]).toMatch(/^wrong\.ts\(4,\d+\): error TS\d+: .*robot/s)
  })

  it('@hey-api/openapi-ts: the SDK and a member journey compile under tsc --strict', () => {
    expect(errorsIn(errors, 'hey-journey.ts', 'hey/')).toEqual([])
  })
})

function generated(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => relative(work, join(dir, f)))
}

describe('the docs page', () => {
  it('renders in headless Chromium with every request outside this server blocked', async () => {
    const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
    if (!existsSync(executablePath)) {
      throw new Error(
        `No Chromium at ${executablePath}. Install it once per machine (Debian/Ubuntu: ` +
          '`sudo apt-get install -y chromium`; `.ci/run` does this) or set CHROMIUM_PATH to a Chromium or Chrome binary.',
      )
    }
    // A fresh profile directory per run (Playwright passes it as --user-data-dir).
    const browser = await chromium.launchPersistentContext(join(work, 'chromium'), {
      executablePath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    try {
      const page = await browser.newPage()
      const origin = new URL(stack.url).origin
      const outside: string[] = []
      // No internet: anything not served by Rapport itself fails, as it would offline.
      await page.route('**/*', (route) => {
        const url = route.request().url()
        if (new URL(url).origin === origin) return route.continue()
        outside.push(url)
        return route.abort('internetdisconnected')
      })
      await page.goto(`${stack.url}/docs`)
      await page.locator('.opblock').first().waitFor({ timeout: 30_000 })
      // swagger-ui renders only the operations near the viewport: read the page as a reader
      // would, a screen at a time from top to bottom, and collect every operation id shown.
      const expected = operations()
        .map(({ op }) => op.operationId!)
        .sort()
      const seen = new Set<string>()
      for (let y = 0, deadline = Date.now() + 60_000; Date.now() < deadline; y += 500) {
        await page.evaluate((top) => window.scrollTo(0, top), y)
        await page.waitForTimeout(50)
        for (const id of await page.locator('.opblock-summary-operation-id').allInnerTexts())
          seen.add(id.trim())
        const bottom = await page.evaluate(
          () => window.scrollY + window.innerHeight >= window.document.body.scrollHeight,
        )
        if (bottom) break
      }
      expect([...seen].sort()).toEqual(expected)
      expect(outside).toEqual([])
    } finally {
      await browser.close()
    }
  }, 90_000)
})
