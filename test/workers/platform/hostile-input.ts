import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { account, member } from '../fixtures'
import { api } from '../helpers'
import { uniqueIp } from '../auth-helpers'
import { openConversation, sendMessage } from '../chat-socket'

/**
 * Every operation of the served OpenAPI document, fed strings PostgreSQL cannot store (NUL, lone
 * surrogates), 100 KB strings and values of the wrong type in each path, query and body field, as
 * an anonymous visitor, a member and an admin: no answer may be a 5xx, and every error must be
 * problem+json. Bounded: one sweep of every field with NUL, then a fixed number of random runs.
 */

interface Schema {
  $ref?: string
  type?: string | string[]
  properties?: Record<string, Schema>
  allOf?: Schema[]
}
interface Parameter {
  name: string
  in: 'path' | 'query' | 'header' | 'cookie'
}
interface Operation {
  parameters?: Parameter[]
  requestBody?: { content: Record<string, { schema?: Schema }> }
  security?: unknown[]
}
interface Document {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, Schema> }
}

interface Field {
  location: 'param' | 'query' | 'json' | 'form'
  name: string
}

interface Target {
  method: string
  path: string
  fields: Field[]
  bodyType?: 'json' | 'form' | 'multipart'
  params: string[]
  /** False for operations documented as public (`security: []`). */
  authenticated: boolean
}

function resolve(doc: Document, schema: Schema | undefined): Schema | undefined {
  let s = schema
  for (let i = 0; s?.$ref && i < 10; i++) s = doc.components.schemas[s.$ref.split('/').pop()!]
  if (s?.allOf)
    return { properties: Object.assign({}, ...s.allOf.map((p) => resolve(doc, p)?.properties ?? {})) }
  return s
}

function targets(doc: Document): Target[] {
  const out: Target[] = []
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name)
      const fields: Field[] = (op.parameters ?? [])
        .filter((p) => p.in === 'path' || p.in === 'query')
        .map((p) => ({ location: p.in === 'path' ? 'param' : 'query', name: p.name }))
      const content = op.requestBody?.content ?? {}
      let bodyType: Target['bodyType']
      let body: Schema | undefined
      if (content['application/json']) [bodyType, body] = ['json', content['application/json'].schema]
      else if (content['application/x-www-form-urlencoded'])
        [bodyType, body] = ['form', content['application/x-www-form-urlencoded'].schema]
      else if (content['multipart/form-data'])
        [bodyType, body] = ['multipart', content['multipart/form-data'].schema]
      for (const name of Object.keys(resolve(doc, body)?.properties ?? {})) {
        fields.push({ location: bodyType === 'json' ? 'json' : 'form', name })
      }
      out.push({
        method: method.toUpperCase(),
        path,
        fields,
        bodyType,
        params,
        authenticated: op.security?.length !== 0,
      })
    }
  }
  return out
}

/** Percent-encode, keeping lone surrogates hostile: as the bytes a careless encoder would send. */
function encode(value: string): string {
  return [...value]
    .map((ch) => {
      try {
        return encodeURIComponent(ch)
      } catch {
        return '%ED%A0%80'
      }
    })
    .join('')
}

const hundredKb = 'x'.repeat(100 * 1024)
const hostileStrings = ['\u0000', 'a\u0000b', '\uD800', 'x\uDFFFy', '\uDBFF\u0000', hundredKb]
const hostileValue = fc.oneof(
  fc.constantFrom<unknown>(...hostileStrings),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
)

type Role = 'anonymous' | 'member' | 'admin'

const text = (value: unknown) =>
  value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value)

function request(target: Target, field: Field | undefined, value: unknown, token?: string) {
  let path = target.path
  for (const name of target.params) {
    const v = field?.location === 'param' && field.name === name ? encode(text(value)) : crypto.randomUUID()
    path = path.replace(`{${name}}`, v)
  }
  if (field?.location === 'query') path += `?${encodeURIComponent(field.name)}=${encode(text(value))}`
  const headers: Record<string, string> = { 'CF-Connecting-IP': uniqueIp() }
  if (token) headers.Authorization = `Bearer ${token}`
  let body: BodyInit | undefined
  if (target.bodyType === 'json') {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(field?.location === 'json' ? { [field.name]: value } : {})
  } else if (target.bodyType === 'form') {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = field?.location === 'form' ? `${encodeURIComponent(field.name)}=${encode(text(value))}` : ''
  } else if (target.bodyType === 'multipart') {
    const form = new FormData()
    if (field?.location === 'form') form.set(field.name, text(value))
    body = form
  }
  return api(path, { method: target.method, headers, body })
}

async function expectWellFormed(res: Response, what: string) {
  const text = await res.text()
  expect(res.status, `${what}: ${text.slice(0, 300)}`).toBeLessThan(500)
  if (res.status >= 400 && res.status !== 426) {
    expect(res.headers.get('content-type'), what).toMatch(/^application\/problem\+json/)
  }
  return text
}

describe('hostile input on every operation', () => {
  it('never answers 5xx, and errors are problem+json (NUL sweep, then random runs)', async () => {
    const doc = (await (await api('/openapi.json')).json()) as Document
    const all = targets(doc)
    expect(all.length).toBeGreaterThan(60)
    // Tokens are re-issued when an operation ended their session (logout, account deletion).
    const tokens: Record<Exclude<Role, 'anonymous'>, string | undefined> = {
      member: undefined,
      admin: undefined,
    }
    const tokenFor = async (role: Role) => {
      if (role === 'anonymous') return undefined
      tokens[role] ??= role === 'member' ? (await member()).token : (await account('admin')).token
      return tokens[role]
    }
    const send = async (role: Role, target: Target, field: Field | undefined, value: unknown) => {
      const res = await request(target, field, value, await tokenFor(role))
      if (res.status === 401 && role !== 'anonymous') tokens[role] = undefined
      const what = `${role} ${target.method} ${target.path} ${field ? `${field.location}.${field.name}` : ''}`
      const text = await expectWellFormed(res, what)
      return { res, text }
    }

    // Sweep: NUL in each field of each operation, authenticated as the operation requires, so
    // the check after authentication is reached. A 422 must name the field.
    let named = 0
    for (const target of all) {
      const role: Role = target.path.includes('admin') || target.path.includes('/tier') ? 'admin' : 'member'
      for (const field of target.fields) {
        const { res, text } = await send(target.authenticated ? role : 'anonymous', target, field, 'a\u0000b')
        if (res.status === 422) {
          const paths = (JSON.parse(text) as { errors?: { path: string }[] }).errors?.map((e) => e.path) ?? []
          expect(
            paths.some((p) => p === `${field.location}.${field.name}` || p.startsWith(`${field.location}.`)),
            text,
          ).toBe(true)
          named++
        }
      }
    }
    expect(named).toBeGreaterThan(50)

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...all.filter((t) => t.fields.length > 0)),
        fc.constantFrom<Role>('anonymous', 'member', 'admin'),
        fc.nat(),
        hostileValue,
        async (target, role, pick, value) => {
          await send(role, target, target.fields[pick % target.fields.length], value)
        },
      ),
      { numRuns: 150, seed: 1307, endOnFailure: true },
    )
  }, 120_000)

  it('refuses NUL and lone surrogates in the operations that used to fail, naming the field', async () => {
    const cases: [string, string][] = [
      ['/api/v1/tier/%00', 'param.name'],
      ['/api/v1/profiles/%00', 'param.idOrSlug'],
      ['/api/v1/clubs/top?q=%00', 'query.q'],
    ]
    for (const [path, field] of cases) {
      const res = await api(path, { headers: { 'CF-Connecting-IP': uniqueIp() } })
      const text = await res.text()
      expect(res.status, `${path}: ${text}`).toBe(422)
      expect(JSON.parse(text)).toMatchObject({ code: 'validation_failed', errors: [{ path: field }] })
    }
    // A URL cannot carry a lone surrogate (invalid UTF-8 decodes to U+FFFD); JSON can.
    const m = await member()
    for (const about of ['half a pair \uD83D', 'a\u0000b']) {
      const res = await api('/api/v1/me/profile', {
        method: 'PATCH',
        headers: { Authorization: `Bearer ${m.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ about }),
      })
      expect(res.status).toBe(422)
      expect(await res.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'json.about' }] })
    }
  })
})

describe('what is logged', () => {
  it('a chat write that fails does not log the body, and a refused frame names the field', async () => {
    const alice = await member()
    const bob = await member()
    const socket = await openConversation(alice.token, bob.id)
    const lines: string[] = []
    for (const level of ['log', 'warn', 'error'] as const) {
      vi.spyOn(console, level).mockImplementation(
        (...args: unknown[]) => void lines.push(args.map(String).join(' ')),
      )
    }
    const secret = `secret body ${crypto.randomUUID()}`
    // A NUL is refused before it reaches the database, with an error frame naming the field.
    const refused = await sendMessage(socket, `${secret}\u0000`, 'nul-1')
    expect(refused).toMatchObject({
      type: 'error',
      code: 'validation_failed',
      path: 'body',
      clientId: 'nul-1',
    })
    // A write the database refuses (a message to a member who does not exist any more) is logged
    // without its parameters.
    const { services } = await import('../helpers')
    const { users } = await import('../../../src/db/schema')
    const { eq } = await import('drizzle-orm')
    await services().database.db.delete(users).where(eq(users.id, bob.id))
    const failed = await sendMessage(socket, secret, 'gone-1')
    expect(failed.type).toBe('error')
    vi.restoreAllMocks()
    expect(lines.some((l) => l.includes('chat.frame_failed'))).toBe(true)
    expect(lines.filter((l) => l.includes(secret))).toEqual([])
    socket.ws.close()
  })
})
