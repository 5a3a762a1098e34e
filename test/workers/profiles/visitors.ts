import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { messaged, photos, profiles, skips, tiers, users, visits } from '../../../src/db/schema'
import { signIn } from '../auth-helpers'
import { account, call, member } from '../fixtures'
import { api, problem, services, tierWithRules } from '../helpers'

const s = services()

type Visit = {
  id: string
  urlSlug: string | null
  name: string | null
  age: number | null
  photo: { url: string; blurhash: string } | null
  visitedAt: string
  isNew: boolean
  invisible: boolean
  verificationRequiredToView: 'basics' | 'photos' | null
}
type VisitPage = { data: Visit[]; total_count: number; has_more: boolean }

const view = (token: string | undefined, idOrSlug: string) =>
  call('GET', `/api/v1/profiles/${idOrSlug}`, token)
async function list(token: string, which: 'visitors' | 'visited', query = ''): Promise<VisitPage> {
  const res = await call('GET', `/api/v1/me/${which}${query}`, token)
  expect(res.status).toBe(200)
  return (await res.json()) as VisitPage
}
const ids = (page: VisitPage) => page.data.map((v) => v.id)

/** A tier made through the admin API, so the Worker's per-isolate copy of the tier table is fresh. */
async function invisibleTier(): Promise<string> {
  const admin = await account('admin')
  const name = `invisible-${crypto.randomUUID().slice(0, 8)}`
  const res = await call('POST', '/api/v1/tier', admin.token, { name, features: { invisibleBrowsing: true } })
  expect(res.status).toBe(201)
  return (await s.database.db.select().from(tiers).where(eq(tiers.name, name)))[0]!.id
}

describe('recording visits', () => {
  it("lists a member who viewed my profile, with their card, and me in their 'visited'", async () => {
    const [me, them] = [await member({ name: 'Mia' }), await member({ name: 'Theo' })]
    const photoId = crypto.randomUUID().replaceAll('-', '').repeat(2)
    await s.database.db.insert(photos).values({
      id: photoId,
      userId: them.id,
      position: 1,
      blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj',
      width: 900,
      height: 900,
      contentHash: 'cd'.repeat(32),
    })
    expect((await view(them.token, me.profile.urlSlug!)).status).toBe(200)

    const visitors = await list(me.token, 'visitors')
    expect(visitors.total_count).toBe(1)
    expect(visitors.data[0]).toEqual({
      id: them.id,
      urlSlug: them.profile.urlSlug,
      name: 'Theo',
      age: expect.any(Number),
      photo: {
        url: expect.stringMatching(new RegExp(`/450-${photoId}\\.jpg$`)),
        blurhash: expect.any(String),
      },
      visitedAt: expect.any(String),
      isNew: true,
      invisible: false,
      verificationRequiredToView: null,
    })
    const visited = await list(them.token, 'visited')
    expect(visited.data).toEqual([
      expect.objectContaining({ id: me.id, name: 'Mia', isNew: false, photo: null }),
    ])

    // A second view moves the same row forward rather than adding one.
    const first = visitors.data[0]!.visitedAt
    await view(them.token, me.id)
    const again = await list(me.token, 'visitors')
    expect(again.total_count).toBe(1)
    expect(Date.parse(again.data[0]!.visitedAt)).toBeGreaterThan(Date.parse(first))
  })

  it('masks a visitor who asks for more verification than mine, until they message me', async () => {
    const me = await member()
    const them = await member({ name: 'Private', profile: { privacyVerificationLevel: 'photos' } })
    expect((await view(them.token, me.id)).status).toBe(200)
    const [row] = (await list(me.token, 'visitors')).data
    expect(row).toMatchObject({
      id: them.id,
      urlSlug: null,
      name: null,
      age: null,
      photo: null,
      verificationRequiredToView: 'photos',
    })
    await s.database.db
      .update(profiles)
      .set({ verificationLevel: 'photos' })
      .where(eq(profiles.userId, me.id))
    expect((await list(me.token, 'visitors')).data[0]).toMatchObject({
      name: 'Private',
      verificationRequiredToView: null,
    })
    await s.database.db.update(profiles).set({ verificationLevel: 'none' }).where(eq(profiles.userId, me.id))
    await s.database.db.insert(messaged).values({ subjectId: them.id, objectId: me.id })
    expect((await list(me.token, 'visitors')).data[0]).toMatchObject({
      name: 'Private',
      urlSlug: them.profile.urlSlug,
      verificationRequiredToView: null,
    })
  })

  it('records nothing for anonymous visitors, oneself, or a refused view', async () => {
    const me = await member({ profile: { publicProfile: true } })
    expect((await view(undefined, me.id)).status).toBe(200)
    expect((await view(me.token, me.id)).status).toBe(200)
    const blocked = await member()
    await s.database.db.insert(skips).values({ subjectId: me.id, objectId: blocked.id })
    expect((await view(blocked.token, me.id)).status).toBe(404)
    expect(await s.database.db.select().from(visits).where(eq(visits.objectId, me.id))).toEqual([])
  })

  it('hides the age of members who hide it', async () => {
    const [me, them] = [await member(), await member({ profile: { showMyAge: false } })]
    await view(them.token, me.id)
    expect((await list(me.token, 'visitors')).data[0]?.age).toBeNull()
  })
})

describe('invisible browsing', () => {
  it('needs the tier feature and the setting; invisible visits show only in my own list', async () => {
    const me = await member()
    const tierId = await invisibleTier()
    const ghost = await member({ user: { tierId }, profile: { browseInvisibly: true } })
    const settingOff = await member({ user: { tierId } })
    const noFeature = await member({ profile: { browseInvisibly: true } })
    for (const v of [ghost, settingOff, noFeature]) expect((await view(v.token, me.id)).status).toBe(200)

    expect(ids(await list(me.token, 'visitors')).sort()).toEqual([settingOff.id, noFeature.id].sort())
    expect((await list(ghost.token, 'visited')).data).toEqual([
      expect.objectContaining({ id: me.id, invisible: true }),
    ])

    // Switching it off makes the next visit visible.
    await s.database.db.update(profiles).set({ browseInvisibly: false }).where(eq(profiles.userId, ghost.id))
    await view(ghost.token, me.id)
    expect(ids(await list(me.token, 'visitors'))).toContain(ghost.id)
  })
})

describe('who is left out', () => {
  it('shadow-banned, deactivated and deleted visitors and skips either way', async () => {
    const me = await member()
    const [shadow, away, gone, iSkipped, skippedMe, fine] = await Promise.all(
      Array.from({ length: 6 }, () => member()),
    )
    for (const v of [shadow, away, gone, iSkipped, skippedMe, fine]) await view(v!.token, me.id)
    expect((await list(me.token, 'visitors')).total_count).toBe(6)

    await s.database.db
      .update(profiles)
      .set({ shadowBannedAt: new Date() })
      .where(eq(profiles.userId, shadow!.id))
    await s.database.db.update(users).set({ status: 'deactivated' }).where(eq(users.id, away!.id))
    await s.database.db.update(users).set({ deletedAt: new Date() }).where(eq(users.id, gone!.id))
    await s.database.db.insert(skips).values([
      { subjectId: me.id, objectId: iSkipped!.id },
      { subjectId: skippedMe!.id, objectId: me.id },
    ])
    const page = await list(me.token, 'visitors')
    expect(ids(page)).toEqual([fine!.id])
    expect(page.total_count).toBe(1)
    // The same rules apply to whom the skipper visited.
    await view(me.token, iSkipped!.id)
    expect(ids(await list(me.token, 'visited'))).not.toContain(iSkipped!.id)
  })
})

describe('new visitors and paging', () => {
  it('marks visits after my last check as new, newest first, paged', async () => {
    const me = await member()
    const [a, b, c] = [await member(), await member(), await member()]
    await view(a.token, me.id)
    await view(b.token, me.id)

    const checked = await call('POST', '/api/v1/me/visitors/checked', me.token)
    expect(checked.status).toBe(200)
    const { checkedAt } = (await checked.json()) as { checkedAt: string }
    expect(Number.isNaN(Date.parse(checkedAt))).toBe(false)
    await view(c.token, me.id)

    const page1 = await list(me.token, 'visitors', '?items_per_page=2')
    expect(page1.data.map((v) => [v.id, v.isNew])).toEqual([
      [c.id, true],
      [b.id, false],
    ])
    expect(page1.has_more).toBe(true)
    const page2 = await list(me.token, 'visitors', '?items_per_page=2&page=2')
    expect(page2.data.map((v) => [v.id, v.isNew])).toEqual([[a.id, false]])
    expect(page2.has_more).toBe(false)
  })

  it('answers 401, 409 and 422 like every member route', async () => {
    const onboarding = await signIn()
    for (const [method, path] of [
      ['GET', '/api/v1/me/visitors'],
      ['GET', '/api/v1/me/visited'],
      ['POST', '/api/v1/me/visitors/checked'],
    ] as const) {
      expect((await call(method, path)).status, path).toBe(401)
      const early = await call(method, path, onboarding.accessToken)
      expect(early.status, path).toBe(409)
      expect((await problem(early)).code).toBe('onboarding_required')
    }
    const me = await member()
    const bad = await call('GET', '/api/v1/me/visitors?items_per_page=1000', me.token)
    expect(bad.status).toBe(422)
    expect((await problem(bad)).errors?.[0]?.path).toBe('query.items_per_page')
  })
})

describe('rate limits', () => {
  it("answers 429 past the tier's limit for the route", async () => {
    const tier = await tierWithRules('visitors-rl', [{ route: 'GET /api/v1/me/visitors', limit: 1 }])
    const me = await member({ user: { tierId: tier.id } })
    expect((await call('GET', '/api/v1/me/visitors', me.token)).status).toBe(200)
    const refused = await call('GET', '/api/v1/me/visitors', me.token)
    expect(refused.status).toBe(429)
    expect((await problem(refused)).code).toBe('rate_limited')
  })
})

describe('live visitor events', () => {
  it("pushes a visible visit to the member's inbox socket, never an invisible one", async () => {
    const me = await member()
    const res = await api('/api/v1/hub/socket', {
      headers: { Upgrade: 'websocket', Authorization: `Bearer ${me.token}` },
    })
    expect(res.status).toBe(101)
    const ws = res.webSocket!
    const frames: { type: string; [k: string]: unknown }[] = []
    ws.addEventListener('message', (e) => frames.push(JSON.parse(e.data as string)))
    ws.accept()

    const ghost = await member({
      user: { tierId: await invisibleTier() },
      profile: { browseInvisibly: true },
    })
    const visitor = await member({ name: 'Vic' })
    await view(ghost.token, me.id)
    await view(visitor.token, me.id)
    const deadline = Date.now() + 3000
    while (!frames.some((f) => f.type === 'visitor') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50))
    }
    const pushed = frames.filter((f) => f.type === 'visitor')
    expect(pushed).toEqual([
      expect.objectContaining({
        type: 'visitor',
        id: visitor.id,
        name: 'Vic',
        isNew: true,
        invisible: false,
      }),
    ])
    ws.close(1000, 'done')
  })
})
