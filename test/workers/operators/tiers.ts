import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { createRoute, z } from '@hono/zod-openapi'
import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../../src/app'
import { tiers, users } from '../../../src/db/schema'
import { requireAuth } from '../../../src/middleware/auth'
import { requireFeature, requireTier } from '../../../src/middleware/tier'
import {
  defaultFeatures,
  forgetTiers,
  resolveFeatures,
  tierFeatures,
} from '../../../src/services/accounts/tiers'
import { api, problem, services } from '../helpers'
import { account, call } from '../fixtures'

const s = services()
const tag = () => crypto.randomUUID().replaceAll('-', '').slice(0, 10)

/** The real app plus two routes gated by the tier middleware, as later issues will gate theirs. */
function appWithGatedRoutes() {
  const app = createApp('local')
  app.openapi(
    createRoute({
      method: 'get',
      path: '/probe/receipts',
      middleware: [requireAuth, requireFeature('readReceipts')] as const,
      responses: { 200: { description: 'ok', content: { 'application/json': { schema: z.object({}) } } } },
    }),
    (c) => c.json({}, 200),
  )
  app.get('/probe/gold-only', requireAuth, requireTier(goldName), (c) => c.json({}, 200))
  return app
}

const freeName = `free-${tag()}`
const goldName = `gold-${tag()}`
let admin: Awaited<ReturnType<typeof account>>
let probe: ReturnType<typeof appWithGatedRoutes>

/** Call the gated app and wait for its background work (the account cache write) to finish. */
async function probeCall(path: string, token: string) {
  const ctx = createExecutionContext()
  const res = await probe.request(path, { headers: { Authorization: `Bearer ${token}` } }, env, ctx)
  await waitOnExecutionContext(ctx)
  return res
}

beforeAll(async () => {
  admin = await account('admin')
  probe = appWithGatedRoutes()
  const created = await call('POST', '/api/v1/tier', admin.token, { name: freeName })
  expect(created.status).toBe(201)
  const gold = await call('POST', '/api/v1/tier', admin.token, {
    name: goldName,
    features: { clubQuota: 100, readReceipts: true, invisibleBrowsing: true, goldProfileFields: true },
  })
  expect(gold.status).toBe(201)
  // The tiers were written by the Worker's module instance; this test module keeps its own copy.
  forgetTiers()
})

describe('the feature table', () => {
  it('fills every feature in from the defaults and drops invalid stored overrides', () => {
    expect(defaultFeatures).toEqual({
      clubQuota: 50,
      readReceipts: false,
      invisibleBrowsing: false,
      goldProfileFields: false,
      paidFlair: false,
    })
    expect(resolveFeatures({ clubQuota: 100, readReceipts: 'yes', retired: true })).toEqual({
      ...defaultFeatures,
      clubQuota: 100,
    })
    expect(resolveFeatures(null)).toEqual(defaultFeatures)
  })

  it('answers per tier id, and the defaults for no tier or an unknown one', async () => {
    const [gold] = await s.database.db.select().from(tiers).where(eq(tiers.name, goldName))
    expect((await tierFeatures(s, gold!.id)).clubQuota).toBe(100)
    expect(await tierFeatures(s, null)).toEqual(defaultFeatures)
    expect(await tierFeatures(s, crypto.randomUUID())).toEqual(defaultFeatures)
  })

  it('sees a tier created elsewhere (another isolate, SQL) at once, not after the cache expires', async () => {
    await cachedTiersLoaded()
    const [fresh] = await s.database.db
      .insert(tiers)
      .values({ name: `elsewhere-${crypto.randomUUID().slice(0, 8)}`, features: { clubQuota: 77 } })
      .returning()
    expect((await tierFeatures(s, fresh!.id)).clubQuota).toBe(77)
    await s.database.db.delete(tiers).where(eq(tiers.id, fresh!.id))
  })
})

/** Load this isolate's tier copy now, so a row inserted afterwards is missing from it. */
async function cachedTiersLoaded() {
  forgetTiers()
  await tierFeatures(s, crypto.randomUUID())
}

describe('public tier reads', () => {
  it('lists tiers oldest first and reads one by name, anonymously', async () => {
    const one = await call('GET', `/api/v1/tier/${goldName}`)
    expect(one.status).toBe(200)
    expect(await one.json()).toMatchObject({
      name: goldName,
      features: { clubQuota: 100, readReceipts: true },
      overrides: { clubQuota: 100, readReceipts: true, invisibleBrowsing: true, goldProfileFields: true },
    })
    const page = await call('GET', '/api/v1/tiers?items_per_page=100')
    expect(page.status).toBe(200)
    const body = (await page.json()) as { data: { name: string; createdAt: string }[]; total_count: number }
    expect(body.total_count).toBeGreaterThanOrEqual(2)
    const times = body.data.map((t) => t.createdAt)
    expect([...times].sort()).toEqual(times)
  })

  it('answers an unknown tier with 404 and bad paging with 422', async () => {
    expect((await call('GET', `/api/v1/tier/nope-${tag()}`)).status).toBe(404)
    for (const q of ['page=0', 'items_per_page=0', 'items_per_page=101', 'page=x']) {
      const res = await call('GET', `/api/v1/tiers?${q}`)
      expect(res.status).toBe(422)
      expect((await problem(res)).code).toBe('validation_failed')
    }
  })
})

describe('tier writes', () => {
  it('need an admin: 401 anonymous, 403 for members and moderators', async () => {
    const member = await account('member')
    const moderator = await account('moderator')
    expect((await call('POST', '/api/v1/tier', undefined, { name: `x-${tag()}` })).status).toBe(401)
    expect((await call('POST', '/api/v1/tier', member.token, { name: `x-${tag()}` })).status).toBe(403)
    expect((await call('PATCH', `/api/v1/tier/${goldName}`, moderator.token, { name: 'x' })).status).toBe(403)
    expect((await call('DELETE', `/api/v1/tier/${goldName}`, member.token)).status).toBe(403)
    expect((await call('DELETE', `/api/v1/tier/${goldName}`)).status).toBe(401)
  })

  it('refuses a duplicate name with 409, on create and on rename', async () => {
    const dup = await call('POST', '/api/v1/tier', admin.token, { name: goldName })
    expect(dup.status).toBe(409)
    expect((await problem(dup)).code).toBe('conflict')
    const rename = await call('PATCH', `/api/v1/tier/${freeName}`, admin.token, { name: goldName })
    expect(rename.status).toBe(409)
  })

  it('validates names and feature overrides with 422, bodies with 415 and 413', async () => {
    const cases: unknown[] = [
      { name: 'Has Spaces' },
      { name: '' },
      { name: `ok-${tag()}`, features: { clubQuota: -1 } },
      { name: `ok-${tag()}`, features: { teleport: true } },
      { name: `ok-${tag()}`, extra: 1 },
    ]
    for (const body of cases) {
      const res = await call('POST', '/api/v1/tier', admin.token, body)
      expect(res.status, JSON.stringify(body)).toBe(422)
    }
    const patched = await call('PATCH', `/api/v1/tier/${freeName}`, admin.token, {
      features: { readReceipts: 1 },
    })
    expect(patched.status).toBe(422)
    expect((await problem(patched)).errors?.[0]?.path).toBe('json.features.readReceipts')
    expect((await call('POST', '/api/v1/tier', admin.token, 'name=x', 'text/plain')).status).toBe(415)
    const big = await call('POST', '/api/v1/tier', admin.token, { name: 'x'.repeat(1024 * 1024 + 1) })
    expect(big.status).toBe(413)
    expect(
      (await call('PATCH', `/api/v1/tier/nope-${tag()}`, admin.token, { name: `y-${tag()}` })).status,
    ).toBe(404)
  })

  it('merge-patches overrides: values set, null returns to the default, absent keys stay', async () => {
    const name = `patch-${tag()}`
    await call('POST', '/api/v1/tier', admin.token, { name, features: { clubQuota: 70, readReceipts: true } })
    const res = await call('PATCH', `/api/v1/tier/${name}`, admin.token, {
      features: { clubQuota: null, invisibleBrowsing: true },
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { overrides: object; features: { clubQuota: number } }
    expect(body.overrides).toEqual({ readReceipts: true, invisibleBrowsing: true })
    expect(body.features.clubQuota).toBe(50)
    const renamed = await call('PATCH', `/api/v1/tier/${name}`, admin.token, { name: `${name}-b` })
    expect(renamed.status).toBe(200)
    expect((await call('GET', `/api/v1/tier/${name}-b`)).status).toBe(200)
    expect((await call('GET', `/api/v1/tier/${name}`)).status).toBe(404)
  })

  it('deletes an unused tier (204) and refuses one that users hold with 409', async () => {
    const name = `used-${tag()}`
    const created = (await (await call('POST', '/api/v1/tier', admin.token, { name })).json()) as {
      id: string
    }
    const holder = await account('member', { tierId: created.id })
    const refused = await call('DELETE', `/api/v1/tier/${name}`, admin.token)
    expect(refused.status).toBe(409)
    expect((await problem(refused)).detail).toMatch(/1 user/)
    await s.database.db.update(users).set({ tierId: null }).where(eq(users.id, holder.id))
    expect((await call('DELETE', `/api/v1/tier/${name}`, admin.token)).status).toBe(204)
    expect((await call('GET', `/api/v1/tier/${name}`)).status).toBe(404)
    expect((await call('DELETE', `/api/v1/tier/${name}`, admin.token)).status).toBe(404)
  })
})

describe('requireFeature and requireTier', () => {
  it('grants by tier and refuses with 403 tier_required naming the feature', async () => {
    const [free] = await s.database.db.select().from(tiers).where(eq(tiers.name, freeName))
    const [gold] = await s.database.db.select().from(tiers).where(eq(tiers.name, goldName))
    const freeMember = await account('member', { tierId: free!.id })
    const goldMember = await account('member', { tierId: gold!.id })
    const refused = await probeCall('/probe/receipts', freeMember.token)
    expect(refused.status).toBe(403)
    const body = await problem(refused)
    expect(body.code).toBe('tier_required')
    expect(body.detail).toContain('readReceipts')
    expect((await probeCall('/probe/receipts', goldMember.token)).status).toBe(200)
    expect((await probeCall('/probe/gold-only', goldMember.token)).status).toBe(200)
    expect((await probeCall('/probe/gold-only', freeMember.token)).status).toBe(403)
    expect((await probe.request('/probe/receipts', {}, env, createExecutionContext())).status).toBe(401)
  })

  it('applies a tier change on the very next request', async () => {
    const [free] = await s.database.db.select().from(tiers).where(eq(tiers.name, freeName))
    const member = await account('member', { tierId: free!.id })
    // The first request caches the member's account summary (free tier) for 60 s.
    expect((await probeCall('/probe/receipts', member.token)).status).toBe(403)
    const changed = await call('PATCH', `/api/v1/user/${member.id}/tier`, admin.token, { tier: goldName })
    expect(changed.status).toBe(200)
    expect(((await changed.json()) as { tier: string }).tier).toBe(goldName)
    expect((await probeCall('/probe/receipts', member.token)).status).toBe(200)
    const back = await call('PATCH', `/api/v1/user/${member.id}/tier`, admin.token, { tier: freeName })
    expect(back.status).toBe(200)
    expect((await probeCall('/probe/receipts', member.token)).status).toBe(403)
  })
})

describe('PATCH /api/v1/user/{idOrUsername}/tier', () => {
  it('answers 401, 403, 404 (user or tier), 415 and 422 on the error paths', async () => {
    const member = await account('member')
    const path = `/api/v1/user/${member.id}/tier`
    expect((await call('PATCH', path, undefined, { tier: goldName })).status).toBe(401)
    expect((await call('PATCH', path, member.token, { tier: goldName })).status).toBe(403)
    expect(
      (await call('PATCH', `/api/v1/user/${crypto.randomUUID()}/tier`, admin.token, { tier: goldName }))
        .status,
    ).toBe(404)
    const noTier = await call('PATCH', path, admin.token, { tier: `nope-${tag()}` })
    expect(noTier.status).toBe(404)
    expect((await problem(noTier)).detail).toMatch(/tier/)
    expect((await call('PATCH', path, admin.token, { tier: goldName, tierId: 'x' })).status).toBe(422)
    expect((await call('PATCH', path, admin.token, {})).status).toBe(422)
    expect((await call('PATCH', path, admin.token, 'tier=gold', 'text/plain')).status).toBe(415)
  })
})

describe('public tier reads', () => {
  it('are publicly cacheable with an ETag and answer 304 when it still matches', async () => {
    const res = await api('/api/v1/tiers')
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/)
    const etag = res.headers.get('etag')!
    expect(etag).toMatch(/^W\//)
    const again = await api('/api/v1/tiers', { headers: { 'If-None-Match': etag } })
    expect(again.status).toBe(304)
  })
})

describe('cached tier reads', () => {
  /** Every tier name across all list pages (other files create tiers too, so walk them all). */
  async function listedNames(): Promise<string[]> {
    const names: string[] = []
    for (let page = 1; page <= 50; page++) {
      const body = (await (await api(`/api/v1/tiers?items_per_page=100&page=${page}`)).json()) as {
        data: { name: string }[]
        has_more: boolean
      }
      names.push(...body.data.map((t) => t.name))
      if (!body.has_more) break
    }
    return names
  }

  it('serve from the cache, and every write drops the item and the lists that contain it', async () => {
    const admin = await account('admin')
    const name = `cache-${crypto.randomUUID().slice(0, 8)}`
    expect((await call('POST', '/api/v1/tier', admin.token, { name })).status).toBe(201)
    expect(await listedNames()).toContain(name)
    const first = (await (await api(`/api/v1/tier/${name}`)).json()) as { features: { clubQuota: number } }

    // A change behind the API's back is not seen while the entry lives: the read is cached.
    await s.database.db
      .update(tiers)
      .set({ features: { clubQuota: first.features.clubQuota + 1 } })
      .where(eq(tiers.name, name))
    const cachedRead = (await (await api(`/api/v1/tier/${name}`)).json()) as {
      features: { clubQuota: number }
    }
    expect(cachedRead.features.clubQuota).toBe(first.features.clubQuota)

    // A write through the API invalidates the item and every cached list page at once.
    const renamed = `${name}-r`
    expect((await call('PATCH', `/api/v1/tier/${name}`, admin.token, { name: renamed })).status).toBe(200)
    expect((await api(`/api/v1/tier/${name}`)).status).toBe(404)
    const names = await listedNames()
    expect(names).toContain(renamed)
    expect(names).not.toContain(name)

    expect((await call('DELETE', `/api/v1/tier/${renamed}`, admin.token)).status).toBe(204)
    expect((await api(`/api/v1/tier/${renamed}`)).status).toBe(404)
    expect(await listedNames()).not.toContain(renamed)
  })
})
