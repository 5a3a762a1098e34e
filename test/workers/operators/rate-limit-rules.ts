import { env } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { rateLimitRules, tiers } from '../../../src/db/schema'
import type { Env } from '../../../src/env'
import { fixedClock } from '../../../src/lib/clock'
import { createServices } from '../../../src/services'
import {
  limitFor,
  normalizeRouteTemplate,
  ruleCacheTtlMs,
} from '../../../src/services/platform/rate-limit-rules'
import { api, problem, services } from '../helpers'
import { uniqueIp } from '../auth-helpers'
import { account, call } from '../fixtures'

const s = services()
const tag = () => crypto.randomUUID().replaceAll('-', '').slice(0, 12)

async function newTier(): Promise<{ id: string; name: string }> {
  const [tier] = await s.database.db
    .insert(tiers)
    .values({ name: `rl-${tag()}` })
    .returning()
  return tier!
}

/** Served GET routes, handed out in turn so the rules of one tier never share a route. */
const servedRoutes = [
  '/api/v1/me',
  '/api/v1/me/sessions',
  '/api/v1/me/profile',
  '/api/v1/tiers',
  '/api/v1/tier/{name}',
  '/api/v1/profiles/{idOrSlug}',
  '/api/v1/me/visitors',
  '/api/v1/me/visited',
  '/api/v1/clubs/top',
  '/api/v1/clubs/search',
  '/api/v1/stats',
  '/api/v1/stats/genders',
  '/api/v1/search/filters',
  '/api/v1/inbox',
  '/api/v1/places',
  '/api/v1/me/photos',
  '/api/v1/me/skips',
  '/api/v1/me/clubs',
  '/api/v1/me/personality',
  '/api/v1/questions/next',
  '/api/v1/users',
  '/api/v1/admin/bans',
  '/api/v1/admin/reports',
  '/api/v1/me/voice-bio',
].map((path) => `GET ${path}`)
let nextRoute = 0

const rule = (over: Record<string, unknown> = {}) => ({
  name: `r-${tag()}`,
  route: servedRoutes[nextRoute++ % servedRoutes.length]!,
  limit: 5,
  periodSeconds: 60,
  ...over,
})

let admin: Awaited<ReturnType<typeof account>>
let member: Awaited<ReturnType<typeof account>>
let tier: { id: string; name: string }

beforeAll(async () => {
  tier = await newTier()
  ;[admin, member] = await Promise.all([account('admin'), account('member')])
})

describe('route templates', () => {
  it('normalises the method, :param and a trailing slash; refuses anything else', () => {
    expect(normalizeRouteTemplate('post /api/v1/search')).toBe('POST /api/v1/search')
    expect(normalizeRouteTemplate('GET /api/v1/x/:id/')).toBe('GET /api/v1/x/{id}')
    expect(normalizeRouteTemplate('GET /api/v1/x/{id}')).toBe('GET /api/v1/x/{id}')
    for (const bad of ['/api/v1/x', 'FETCH /x', 'GET api/v1/x', 'GET /x?y=1', 'GET /x/{}', 'GET /a b']) {
      expect(normalizeRouteTemplate(bad), bad).toBeNull()
    }
  })
})

describe('rate-limit rule CRUD', () => {
  it('creates, lists, reads, updates and deletes a rule', async () => {
    const base = `/api/v1/tier/${tier.name}`
    const created = await call(
      'POST',
      `${base}/rate_limit`,
      admin.token,
      rule({ route: 'delete /api/v1/me/sessions/:id/' }),
    )
    expect(created.status).toBe(201)
    const body = (await created.json()) as { id: string; route: string; algorithm: string; tierId: string }
    expect(body).toMatchObject({
      route: 'DELETE /api/v1/me/sessions/{id}',
      algorithm: 'fixed',
      tierId: tier.id,
    })

    const list = await call('GET', `${base}/rate_limits?items_per_page=1`)
    expect(list.status).toBe(200)
    expect(await list.json()).toMatchObject({ total_count: 1, page: 1, items_per_page: 1, has_more: false })

    const read = await call('GET', `${base}/rate_limit/${body.id}`)
    expect(read.status).toBe(200)
    expect(await read.json()).toMatchObject({ id: body.id })

    const patched = await call('PATCH', `${base}/rate_limit/${body.id}`, admin.token, {
      limit: 9,
      algorithm: 'sliding',
    })
    expect(patched.status).toBe(200)
    expect(await patched.json()).toMatchObject({
      limit: 9,
      algorithm: 'sliding',
      route: 'DELETE /api/v1/me/sessions/{id}',
    })

    expect((await call('DELETE', `${base}/rate_limit/${body.id}`, admin.token)).status).toBe(204)
    expect((await call('GET', `${base}/rate_limit/${body.id}`)).status).toBe(404)
  })

  it('answers 401 without a token and 403 for members on every write', async () => {
    const base = `/api/v1/tier/${tier.name}`
    const id = crypto.randomUUID()
    for (const [method, path, body] of [
      ['POST', `${base}/rate_limit`, rule()],
      ['PATCH', `${base}/rate_limit/${id}`, { limit: 3 }],
      ['DELETE', `${base}/rate_limit/${id}`, undefined],
    ] as const) {
      const anonymous = await call(method, path, undefined, body)
      expect(anonymous.status, `${method} anonymous`).toBe(401)
      const forbidden = await call(method, path, member.token, body)
      expect(forbidden.status, `${method} member`).toBe(403)
      expect((await problem(forbidden)).code).toBe('forbidden')
    }
  })

  it('answers 404 for an unknown tier and for a rule of another tier', async () => {
    const other = await newTier()
    const created = await call('POST', `/api/v1/tier/${other.name}/rate_limit`, admin.token, rule())
    const { id } = (await created.json()) as { id: string }
    expect((await call('GET', `/api/v1/tier/${tier.name}/rate_limit/${id}`)).status).toBe(404)
    expect(
      (await call('PATCH', `/api/v1/tier/${tier.name}/rate_limit/${id}`, admin.token, { limit: 1 })).status,
    ).toBe(404)
    expect((await call('DELETE', `/api/v1/tier/${tier.name}/rate_limit/${id}`, admin.token)).status).toBe(404)
    const missing = await call('GET', `/api/v1/tier/no-such-${tag()}/rate_limits`)
    expect(missing.status).toBe(404)
    expect((await problem(missing)).code).toBe('not_found')
    expect((await call('POST', `/api/v1/tier/no-such-${tag()}/rate_limit`, admin.token, rule())).status).toBe(
      404,
    )
  })

  it('answers 409 for a second rule on the same route or with the same name in a tier', async () => {
    const t = await newTier()
    const base = `/api/v1/tier/${t.name}`
    const first = rule()
    expect((await call('POST', `${base}/rate_limit`, admin.token, first)).status).toBe(201)
    const sameRoute = await call('POST', `${base}/rate_limit`, admin.token, rule({ route: first.route }))
    expect(sameRoute.status).toBe(409)
    expect((await problem(sameRoute)).detail).toContain(first.route)
    const sameName = await call('POST', `${base}/rate_limit`, admin.token, rule({ name: first.name }))
    expect(sameName.status).toBe(409)
    // Another tier may use both.
    const other = await newTier()
    expect((await call('POST', `/api/v1/tier/${other.name}/rate_limit`, admin.token, first)).status).toBe(201)
    // Moving a rule onto a taken route is a conflict too.
    const second = await call('POST', `${base}/rate_limit`, admin.token, rule())
    const { id } = (await second.json()) as { id: string }
    const moved = await call('PATCH', `${base}/rate_limit/${id}`, admin.token, { route: first.route })
    expect(moved.status).toBe(409)
  })

  it('refuses a rule for a route that is not served, saying where the routes are listed', async () => {
    const base = `/api/v1/tier/${tier.name}`
    for (const route of ['GET /api/v1/no-such-thing', 'POST /api/v1/me', 'GET /health']) {
      const res = await call('POST', `${base}/rate_limit`, admin.token, rule({ route }))
      expect(res.status, route).toBe(422)
      const body = await problem(res)
      expect(body.errors?.[0]).toMatchObject({ path: 'json.route' })
      expect(body.errors?.[0]?.message).toContain('/openapi.json')
    }
    const first = (await (await call('POST', `${base}/rate_limit`, admin.token, rule())).json()) as {
      id: string
    }
    const moved = await call('PATCH', `${base}/rate_limit/${first.id}`, admin.token, {
      route: 'GET /api/v1/nowhere',
    })
    expect(moved.status).toBe(422)
  })

  it('answers 422 with field paths for invalid bodies, ids and pages', async () => {
    const base = `/api/v1/tier/${tier.name}`
    const cases: [unknown, string][] = [
      [rule({ route: '/api/v1/x' }), 'json.route'],
      [rule({ route: 'TRACE /x' }), 'json.route'],
      [rule({ limit: 0 }), 'json.limit'],
      [rule({ periodSeconds: 1.5 }), 'json.periodSeconds'],
      [rule({ algorithm: 'token-bucket' }), 'json.algorithm'],
      [{ ...rule(), path: '/x' }, 'json'],
      [{ limit: 5 }, 'json.name'],
    ]
    for (const [body, path] of cases) {
      const res = await call('POST', `${base}/rate_limit`, admin.token, body)
      expect(res.status, JSON.stringify(body)).toBe(422)
      expect((await problem(res)).errors?.map((e) => e.path)).toContain(path)
    }
    expect((await call('PATCH', `${base}/rate_limit/${crypto.randomUUID()}`, admin.token, {})).status).toBe(
      422,
    )
    expect((await call('GET', `${base}/rate_limit/not-a-uuid`)).status).toBe(422)
    expect((await call('GET', `${base}/rate_limits?page=0`)).status).toBe(422)
  })

  it('answers 400 for malformed JSON, 413 for a huge body and 415 for a non-JSON body', async () => {
    const url = `/api/v1/tier/${tier.name}/rate_limit`
    expect((await call('POST', url, admin.token, '{"name":')).status).toBe(400)
    const huge = await call('POST', url, admin.token, JSON.stringify({ name: 'x'.repeat(1_100_000) }))
    expect(huge.status).toBe(413)
    const text = await call('POST', url, admin.token, undefined, { 'content-type': 'text/plain' })
    expect([415, 400]).toContain(text.status)
    const typed = await api(url, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${admin.token}`,
        'content-type': 'text/plain',
        'CF-Connecting-IP': uniqueIp(),
      },
      body: JSON.stringify(rule()),
    })
    expect(typed.status).toBe(415)
  })

  it("answers 429 once an admin's own tier limit for creating rules is spent", async () => {
    const t = await newTier()
    const limited = await account('admin', { tierId: t.id })
    const target = await newTier()
    // The rule is on the route template, so it binds whichever tier is in the path.
    expect(
      (
        await call('POST', `/api/v1/tier/${t.name}/rate_limit`, admin.token, {
          name: 'create-rules',
          route: 'POST /api/v1/tier/{tier}/rate_limit',
          limit: 1,
          periodSeconds: 3600,
        })
      ).status,
    ).toBe(201)
    expect((await call('POST', `/api/v1/tier/${target.name}/rate_limit`, limited.token, rule())).status).toBe(
      201,
    )
    const refused = await call('POST', `/api/v1/tier/${target.name}/rate_limit`, limited.token, rule())
    expect(refused.status).toBe(429)
    expect((await problem(refused)).code).toBe('rate_limited')
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0)
    expect(refused.headers.get('RateLimit-Limit')).toBe('1')
    expect(refused.headers.get('RateLimit-Remaining')).toBe('0')
  })

  it('documents every route in the OpenAPI document, with 429', async () => {
    const doc = (await (await api('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>
    }
    const one = doc.paths['/api/v1/tier/{tier}/rate_limit/{id}']!
    expect(Object.keys(one).sort()).toEqual(['delete', 'get', 'patch'])
    expect(one.patch!.responses).toHaveProperty('429')
    expect(doc.paths['/api/v1/tier/{tier}/rate_limits']).toHaveProperty('get')
    expect(doc.paths['/api/v1/tier/{tier}/rate_limit']).toHaveProperty('post')
    // Every limited route says it can answer 429; health checks are not limited.
    expect(doc.paths['/api/v1/me']!.get!.responses).toHaveProperty('429')
  })
})

describe('the rule cache', () => {
  it('keeps a tier’s rules for 60 s of its clock, then reloads them', async () => {
    const clock = fixedClock(new Date())
    const sc = createServices(env as Env, { clock })
    const t = await newTier()
    const route = `GET /api/v1/cached/${tag()}`
    const defaults = await limitFor(sc, t.id, route)
    expect(defaults.limit).toBe(sc.config.rateLimit.defaultLimit)

    // Written behind the cache's back (another isolate's admin request, as far as this one knows).
    await s.database.db
      .insert(rateLimitRules)
      .values({ tierId: t.id, name: 'c', route, limit: 7, periodSeconds: 30 })
    clock.advance(ruleCacheTtlMs - 1_000)
    expect((await limitFor(sc, t.id, route)).limit).toBe(defaults.limit)
    clock.advance(1_000)
    expect(await limitFor(sc, t.id, route)).toMatchObject({ limit: 7, periodSeconds: 30, algorithm: 'fixed' })
  })

  it('uses the defaults without a tier, without reading Postgres', async () => {
    const sc = createServices({ ...env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' } as Env)
    expect(await limitFor(sc, null, 'GET /api/v1/me')).toMatchObject({
      limit: sc.config.rateLimit.defaultLimit,
      periodSeconds: sc.config.rateLimit.defaultPeriodSeconds,
    })
  })
})
