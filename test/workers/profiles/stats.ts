import { and, count, eq, isNotNull, isNull, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { clubs, memberClubs, profiles, users } from '../../../src/db/schema'
import { call, member } from '../fixtures'
import { politeTag, problem, services } from '../helpers'

const s = services()
const unique = () => `stats ${politeTag(10, (t) => `stats ${t}`)}`

const activeWhere = and(
  eq(users.status, 'active'),
  isNull(users.deletedAt),
  isNotNull(profiles.onboardedAt),
  isNull(profiles.shadowBannedAt),
)

async function dbCounts() {
  const [row] = await s.database.db
    .select({
      total: count(),
      men: sql<number>`count(*) filter (where ${profiles.gender} = 'man')::int`,
      women: sql<number>`count(*) filter (where ${profiles.gender} = 'woman')::int`,
      nonBinary: sql<number>`count(*) filter (where ${profiles.gender} = 'non-binary')::int`,
    })
    .from(users)
    .innerJoin(profiles, eq(profiles.userId, users.id))
    .where(activeWhere)
  return row!
}

/** Other test files add members while this one runs: retry until nobody did during the call. */
async function settled<T>(
  path: string,
  cacheKey: string,
  check: (body: T, counts: Awaited<ReturnType<typeof dbCounts>>) => void,
) {
  for (let attempt = 0; ; attempt++) {
    await s.redis.del(`cache:item:${cacheKey}`)
    const before = await dbCounts()
    const res = await call('GET', path)
    expect(res.status).toBe(200)
    const body = (await res.json()) as T
    const after = await dbCounts()
    if (JSON.stringify(before) === JSON.stringify(after) || attempt === 4) return check(body, before)
  }
}

describe('active member stats', () => {
  it('counts active, onboarded, visible members of a club only; cached 60 s', async () => {
    const name = unique()
    await s.database.db.insert(clubs).values({ name })
    const active = await member()
    const deactivated = await member({ user: { status: 'deactivated' } })
    const shadowBanned = await member({ profile: { shadowBannedAt: new Date() } })
    const onboarding = await member({ user: { status: 'onboarding' }, profile: { onboardedAt: null } })
    const deleted = await member({ user: { deletedAt: new Date() } })
    for (const m of [active, deactivated, shadowBanned, onboarding, deleted]) {
      await s.database.db.insert(memberClubs).values({ userId: m.id, clubName: name })
    }
    const res = await call('GET', `/api/v1/stats?club=${encodeURIComponent(name.toUpperCase())}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=60')
    expect(await res.json()).toEqual({ activeMembers: 1, club: name })

    const another = await member()
    await s.database.db.insert(memberClubs).values({ userId: another.id, clubName: name })
    expect(await (await call('GET', `/api/v1/stats?club=${encodeURIComponent(name)}`)).json()).toEqual({
      activeMembers: 1,
      club: name,
    })
  })

  it('counts every active member without a club', async () => {
    await member()
    await settled<{ activeMembers: number; club: null }>(
      '/api/v1/stats',
      'GET /api/v1/stats',
      (body, counts) => expect(body).toEqual({ activeMembers: counts.total, club: null }),
    )
  })

  it('answers 404 for an unknown club and 422 for an impossible name', async () => {
    const missing = await call('GET', `/api/v1/stats?club=${encodeURIComponent(unique())}`)
    expect(missing.status).toBe(404)
    expect((await problem(missing)).code).toBe('not_found')
    const bad = await call('GET', '/api/v1/stats?club=two%20%20spaces')
    expect(bad.status).toBe(422)
    expect((await problem(bad)).errors?.[0]?.path).toBe('query.club')
  })
})

describe('gender stats', () => {
  it('gives men per woman and the non-binary share of active members', async () => {
    await member({ profile: { gender: 'man' } })
    await member({ profile: { gender: 'woman' } })
    await member({ profile: { gender: 'non-binary' } })
    await settled<{ genderRatio: number | null; nonBinaryPercentage: number }>(
      '/api/v1/stats/genders',
      'GET /api/v1/stats/genders',
      (body, counts) =>
        expect(body).toEqual({
          genderRatio: Math.round((counts.men / counts.women) * 100) / 100,
          nonBinaryPercentage: Math.round(((100 * counts.nonBinary) / counts.total) * 100) / 100,
        }),
    )
    const res = await call('GET', '/api/v1/stats/genders')
    expect(res.headers.get('cache-control')).toBe('public, max-age=60')
  })

  it('is served from the cache for a minute', async () => {
    const first = await (await call('GET', '/api/v1/stats/genders')).json()
    await member({ profile: { gender: 'non-binary' } })
    expect(await (await call('GET', '/api/v1/stats/genders')).json()).toEqual(first)
  })
})
