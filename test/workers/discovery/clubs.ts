import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { clubs, memberClubs, tiers, users } from '../../../src/db/schema'
import { signIn, uniqueEmail } from '../auth-helpers'
import { account, call, member } from '../fixtures'
import { politeTag, problem, services, tierWithRules } from '../helpers'

const s = services()
/** A club name no other test (or run) uses: lower-case letters and digits. */
const unique = (prefix = 'club') => `${prefix} ${politeTag(10, (t) => `${prefix} ${t}`)}`
const join = (token: string, name: unknown) => call('POST', '/api/v1/me/clubs', token, { name })
const leave = (token: string, name: string) =>
  call('DELETE', `/api/v1/me/clubs/${encodeURIComponent(name)}`, token)

async function memberCount(name: string): Promise<number | undefined> {
  const [row] = await s.database.db.select().from(clubs).where(eq(clubs.name, name))
  return row?.memberCount
}

/**
 * A tier created through the admin API, so the Worker's own copy of the tier table (cached per
 * isolate for a minute) is refreshed at once.
 */
async function tierWith(features: Record<string, unknown>): Promise<string> {
  const admin = await account('admin')
  const name = `clubs-${crypto.randomUUID().slice(0, 8)}`
  const res = await call('POST', '/api/v1/tier', admin.token, { name, features })
  expect(res.status).toBe(201)
  const [tier] = await s.database.db.select().from(tiers).where(eq(tiers.name, name))
  return tier!.id
}

describe('joining and leaving clubs', () => {
  it('creates a club on first join, normalises the name, and counts members', async () => {
    const [a, b] = [await member(), await member()]
    const name = unique('Board Games')
    const res = await join(a.token, `  ${name.toUpperCase()}  `)
    expect(res.status).toBe(201)
    expect(await res.json()).toEqual({ name: name.toLowerCase(), memberCount: 1, joined: true })

    const again = await join(a.token, name.toLowerCase())
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual({ name: name.toLowerCase(), memberCount: 1, joined: false })

    expect(await (await join(b.token, name)).json()).toMatchObject({ memberCount: 2, joined: true })
    expect(await memberCount(name.toLowerCase())).toBe(2)
  })

  it('accepts the club-name character set and refuses malformed, long, rude and banned names', async () => {
    const me = await member()
    const ok = `c++ no: #1 "quotes" don't/can't_${crypto.randomUUID().slice(0, 4)}`.replace('++', '-')
    expect((await join(me.token, ok)).status).toBe(201)

    for (const [name, why] of [
      ['two  spaces', /single spaces/],
      ['emoji 🎲', /single spaces/],
      ['', /Required/],
      ['x'.repeat(43), /42/],
      ['fuck this club', /friendly/],
      ['nazis', /not allowed/],
      ['neo nazi fans', /not allowed/],
      ['white power rangers', /not allowed/],
    ] as const) {
      const res = await join(me.token, name)
      expect(res.status, name).toBe(422)
      const body = await problem(res)
      expect(body.code).toBe('validation_failed')
      expect(body.errors?.[0]).toMatchObject({ path: 'json.name', message: expect.stringMatching(why) })
    }
    // Look-alikes of banned words that are fine stay fine.
    expect((await join(me.token, unique('crisis support'))).status).toBe(201)

    expect((await call('POST', '/api/v1/me/clubs', me.token, {})).status).toBe(422)
    expect((await call('POST', '/api/v1/me/clubs', me.token, { name: 'a', extra: 1 })).status).toBe(422)
    expect((await call('POST', '/api/v1/me/clubs', me.token, '{"name":', 'application/json')).status).toBe(
      400,
    )
    expect((await call('POST', '/api/v1/me/clubs', me.token, 'name=a', 'text/plain')).status).toBe(415)
    const refused = await s.database.db.select().from(memberClubs).where(eq(memberClubs.userId, me.id))
    expect(refused).toHaveLength(2)
  })

  it("caps clubs at the tier's clubQuota (403 club_quota_exceeded) and frees a slot on leave", async () => {
    const me = await member({ user: { tierId: await tierWith({ clubQuota: 2 }) } })
    const [one, two, three] = [unique(), unique(), unique()]
    expect((await join(me.token, one)).status).toBe(201)
    expect((await join(me.token, two)).status).toBe(201)
    const over = await join(me.token, three)
    expect(over.status).toBe(403)
    const body = await problem(over)
    expect(body.code).toBe('club_quota_exceeded')
    expect(body.errors?.[0]?.path).toBe('json.name')
    expect(await memberCount(three)).toBeUndefined()
    // Re-joining a club I am in is not a new slot.
    expect((await join(me.token, one)).status).toBe(200)

    expect((await leave(me.token, one)).status).toBe(204)
    expect((await join(me.token, three)).status).toBe(201)

    const roomy = await member({ user: { tierId: await tierWith({ clubQuota: 3 }) } })
    for (const name of [one, two, three]) expect((await join(roomy.token, name)).status).toBe(201)
  })

  it('parallel joins cannot overshoot the quota', async () => {
    const me = await member({ user: { tierId: await tierWith({ clubQuota: 2 }) } })
    const results = await Promise.all([unique(), unique(), unique(), unique()].map((n) => join(me.token, n)))
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 403, 403])
  })

  it('leaves only my own membership: 404 when I am not in the club', async () => {
    const [me, other] = [await member(), await member()]
    const name = unique()
    await join(other.token, name)
    const res = await leave(me.token, name)
    expect(res.status).toBe(404)
    expect((await problem(res)).code).toBe('not_found')
    expect(await memberCount(name)).toBe(1)

    await join(me.token, name)
    expect(await memberCount(name)).toBe(2)
    expect((await leave(me.token, name.toUpperCase())).status).toBe(204)
    expect(await memberCount(name)).toBe(1)
    expect((await leave(me.token, name)).status).toBe(404)
    expect((await leave(me.token, 'never existed')).status).toBe(404)
  })

  it('lists my clubs, newest first, paged', async () => {
    const me = await member()
    const names = [unique('a'), unique('b'), unique('c')]
    for (const n of names) await join(me.token, n)
    const res = await call('GET', '/api/v1/me/clubs?items_per_page=2', me.token)
    expect(res.status).toBe(200)
    const page = (await res.json()) as { data: { name: string }[]; total_count: number; has_more: boolean }
    expect(page.total_count).toBe(3)
    expect(page.has_more).toBe(true)
    expect(page.data.map((c) => c.name)).toEqual([names[2], names[1]])
    expect((await call('GET', '/api/v1/me/clubs?page=0', me.token)).status).toBe(422)
  })

  it('needs a signed-in, onboarded member', async () => {
    const onboarding = await signIn(uniqueEmail())
    for (const [method, path, body] of [
      ['POST', '/api/v1/me/clubs', { name: 'chess' }],
      ['GET', '/api/v1/me/clubs', undefined],
      ['DELETE', '/api/v1/me/clubs/chess', undefined],
      ['GET', '/api/v1/clubs/search?q=chess', undefined],
    ] as const) {
      const anonymous = await call(method, path, undefined, body)
      expect(anonymous.status, path).toBe(401)
      const early = await call(method, path, onboarding.accessToken, body)
      expect(early.status, path).toBe(409)
      expect((await problem(early)).code).toBe('onboarding_required')
    }
  })
})

describe('rate limits', () => {
  it("answers 429 past the tier's limit for the route", async () => {
    const tier = await tierWithRules('clubs-rl', [
      { route: 'POST /api/v1/me/clubs', limit: 1 },
      { route: 'GET /api/v1/clubs/search', limit: 1 },
    ])
    const me = await member({ user: { tierId: tier.id } })
    expect((await join(me.token, unique())).status).toBe(201)
    const refused = await join(me.token, unique())
    expect(refused.status).toBe(429)
    expect((await problem(refused)).code).toBe('rate_limited')
    expect((await call('GET', '/api/v1/clubs/search?q=chess', me.token)).status).toBe(200)
    expect((await call('GET', '/api/v1/clubs/search?q=chess', me.token)).status).toBe(429)
  })
})

describe('member counts follow account status', () => {
  it('deactivation, reactivation by sign-in, admin soft delete and restore, account deletion', async () => {
    const email = uniqueEmail('example.com')
    const me = await member({ user: { email, emailDisplay: email } })
    const other = await member()
    const name = unique()
    await join(me.token, name)
    await join(other.token, name)
    expect(await memberCount(name)).toBe(2)

    expect((await call('POST', '/api/v1/me/deactivate', me.token)).status).toBe(200)
    expect(await memberCount(name)).toBe(1)
    // Deactivating twice does not count twice.
    expect((await call('POST', '/api/v1/me/deactivate', me.token)).status).toBe(200)
    expect(await memberCount(name)).toBe(1)

    const back = await signIn(email)
    expect(back.user.status).toBe('active')
    expect(await memberCount(name)).toBe(2)

    const admin = await account('admin')
    expect((await call('DELETE', `/api/v1/user/${me.id}`, admin.token)).status).toBe(200)
    expect(await memberCount(name)).toBe(1)
    expect((await call('POST', `/api/v1/user/${me.id}/restore`, admin.token)).status).toBe(200)
    expect(await memberCount(name)).toBe(2)

    // Soft deletion ended the sessions: sign in again to delete the account.
    const restored = await signIn(email)
    expect((await call('DELETE', '/api/v1/me', restored.accessToken)).status).toBe(204)
    expect(await memberCount(name)).toBe(1)
    expect(await s.database.db.select().from(memberClubs).where(eq(memberClubs.userId, me.id))).toEqual([])

    // A deactivated member who is then deleted is not taken off twice.
    await call('POST', '/api/v1/me/deactivate', other.token)
    expect(await memberCount(name)).toBe(0)
    await call('DELETE', '/api/v1/me', other.token)
    expect(await memberCount(name)).toBe(0)
  })

  it('members still onboarding count once they finish', async () => {
    const name = unique()
    const early = await member({ user: { status: 'onboarding' } })
    await s.database.db.insert(clubs).values({ name })
    await s.database.db.insert(memberClubs).values({ userId: early.id, clubName: name })
    expect(await memberCount(name)).toBe(0)
    await s.database.db.update(users).set({ status: 'active' }).where(eq(users.id, early.id))
    expect(await memberCount(name)).toBe(1)
  })
})

type SearchRow = { name: string; memberCount: number; isMember: boolean }
const search = async (token: string, q: string) => {
  const res = await call('GET', `/api/v1/clubs/search?q=${encodeURIComponent(q)}`, token)
  expect(res.status).toBe(200)
  return ((await res.json()) as { clubs: SearchRow[] }).clubs
}

describe('club search', () => {
  it('offers the typed name first, then prefix and fuzzy matches with counts and my membership', async () => {
    const [me, other] = [await member(), await member()]
    const stem = `hiking${politeTag(8, (t) => `hiking${t}`)}`
    await join(other.token, `${stem} trails`)
    await join(me.token, `${stem} trails`)
    await join(other.token, `${stem} club`)

    const rows = await search(me.token, `${stem} fans`)
    expect(rows[0]).toEqual({ name: `${stem} fans`, memberCount: 0, isMember: false })
    expect(rows).toContainEqual({ name: `${stem} trails`, memberCount: 2, isMember: true })
    expect(rows).toContainEqual({ name: `${stem} club`, memberCount: 1, isMember: false })

    // An existing club typed exactly comes first, once.
    const exact = await search(me.token, `  ${stem.toUpperCase()} CLUB`)
    expect(exact[0]).toEqual({ name: `${stem} club`, memberCount: 1, isMember: false })
    expect(exact.filter((r) => r.name === `${stem} club`)).toHaveLength(1)
    expect(exact.length).toBeLessThanOrEqual(20)
  })

  it('does not offer names that could not be created', async () => {
    const me = await member()
    expect((await search(me.token, 'nazis')).map((r) => r.name)).not.toContain('nazis')
    expect((await search(me.token, 'two  spaces')).map((r) => r.name)).not.toContain('two  spaces')
    expect((await search(me.token, '50% off')).map((r) => r.name)).not.toContain('50% off')
    const blank = await call('GET', '/api/v1/clubs/search?q=%20', me.token)
    expect(blank.status).toBe(422)
    expect((await problem(blank)).errors?.[0]?.path).toBe('query.q')
    expect((await call('GET', `/api/v1/clubs/search?q=${'x'.repeat(43)}`, me.token)).status).toBe(422)
  })
})

describe('public club list', () => {
  it('lists the biggest clubs for an empty query and matches for a query; public, cached 60 s', async () => {
    const stem = `popular${politeTag(8, (t) => `popular${t}`)}`
    const people = [await member(), await member(), await member()]
    for (const p of people) await join(p.token, `${stem} big`)
    await join(people[0]!.token, `${stem} small`)

    const res = await call('GET', `/api/v1/clubs/top?q=${stem}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=60')
    expect(await res.json()).toEqual({
      clubs: [
        { name: `${stem} big`, memberCount: 3 },
        { name: `${stem} small`, memberCount: 1 },
      ],
    })
    // Served from the cache for a minute: a new member is not counted yet.
    await join((await member()).token, `${stem} big`)
    const again = (await (await call('GET', `/api/v1/clubs/top?q=${stem}`)).json()) as { clubs: SearchRow[] }
    expect(again.clubs[0]).toEqual({ name: `${stem} big`, memberCount: 3 })

    const top = (await (await call('GET', '/api/v1/clubs/top')).json()) as { clubs: SearchRow[] }
    expect(top.clubs.length).toBeGreaterThan(0)
    expect(top.clubs.length).toBeLessThanOrEqual(20)
    const counts = top.clubs.map((c) => c.memberCount)
    expect(counts).toEqual([...counts].sort((x, y) => y - x))
    expect(counts.every((n) => n > 0)).toBe(true)

    expect((await call('GET', `/api/v1/clubs/top?q=${'x'.repeat(43)}`)).status).toBe(422)
  })

  it('leaves out clubs without active members', async () => {
    const stem = `quiet${politeTag(8, (t) => `quiet${t}`)}`
    const me = await member()
    await join(me.token, `${stem} one`)
    await call('POST', '/api/v1/me/deactivate', me.token)
    const res = await call('GET', `/api/v1/clubs/top?q=${stem}`)
    expect(await res.json()).toEqual({ clubs: [] })
  })
})

describe('clubs on profiles and in the export', () => {
  it("shows a member's clubs on their profile, the ones I share first", async () => {
    const [me, them] = [await member(), await member()]
    const [shared, theirs] = [unique('shared'), unique('theirs')]
    await join(them.token, theirs)
    await join(them.token, shared)
    await join(me.token, shared)
    const res = await call('GET', `/api/v1/profiles/${them.id}`, me.token)
    expect(res.status).toBe(200)
    const profile = (await res.json()) as { clubs: unknown[] }
    expect(profile.clubs).toEqual([
      { name: shared, memberCount: 2, mutual: true },
      { name: theirs, memberCount: 1, mutual: false },
    ])
  })

  it('shows clubs to anonymous visitors of a public profile, none mutual', async () => {
    const them = await member({ profile: { publicProfile: true } })
    const [big, small] = [unique('big'), unique('small')]
    await join(them.token, small)
    await join(them.token, big)
    await join((await member()).token, big)
    const res = await call('GET', `/api/v1/profiles/${them.id}`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { clubs: unknown[] }).clubs).toEqual([
      { name: big, memberCount: 2, mutual: false },
      { name: small, memberCount: 1, mutual: false },
    ])
  })

  it('exports my clubs', async () => {
    const me = await member()
    const name = unique()
    await join(me.token, name)
    const issued = await call('POST', '/api/v1/me/export-token', me.token)
    const { token } = (await issued.json()) as { token: string }
    const res = await call('GET', `/api/v1/me/export/${token}`)
    expect(res.status).toBe(200)
    const data = (await res.json()) as { clubs: { name: string; joinedAt: string }[] }
    expect(data.clubs).toEqual([{ name, joinedAt: expect.any(String) }])
  })
})
