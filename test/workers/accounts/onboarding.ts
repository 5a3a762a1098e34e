import { desc, eq, inArray, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import {
  photos,
  places,
  profiles,
  searchPreferences,
  storageDeletions,
  users,
  voiceBios,
} from '../../../src/db/schema'
import { defaultAgeRange } from '../../../src/services/search/geo'
import { defaultDistanceKm, purgeStaleOnboardings } from '../../../src/services/accounts/onboarding'
import { signIn } from '../auth-helpers'
import { call, insertUsers, member } from '../fixtures'
import { problem, services } from '../helpers'

const s = services()

async function placeLabel(countryCode: string): Promise<string> {
  const [place] = await s.database.db
    .select({ label: places.label })
    .from(places)
    .where(eq(places.countryCode, countryCode))
    .orderBy(desc(places.population))
    .limit(1)
  return place!.label
}

async function onboardee() {
  const { accessToken, user } = await signIn()
  return { token: accessToken, id: user.id }
}

const patch = (token: string, body: unknown) => call('PATCH', '/api/v1/onboarding', token, body)

async function complete(token: string, overrides: Record<string, unknown> = {}) {
  const steps = {
    name: 'Robin',
    dateOfBirth: '1990-03-14',
    location: await placeLabel('AU'),
    gender: 'man',
    seekingGenders: ['woman', 'non-binary'],
    ...overrides,
  }
  for (const [field, value] of Object.entries(steps)) {
    const res = await patch(token, { [field]: value })
    expect(res.status, `${field}: ${await res.clone().text()}`).toBe(200)
  }
}

describe('onboarding, one field at a time', () => {
  it('starts with every required field missing and fills them in', async () => {
    const { token } = await onboardee()
    const start = await call('GET', '/api/v1/onboarding', token)
    expect(start.status).toBe(200)
    expect(await start.json()).toMatchObject({
      name: null,
      missing: ['name', 'dateOfBirth', 'location', 'gender', 'seekingGenders'],
    })

    const named = await patch(token, { name: '  Robin   Hood ' })
    expect(named.status).toBe(200)
    const state = (await named.json()) as { name: string; urlSlug: string; missing: string[] }
    expect(state.name).toBe('Robin Hood')
    expect(state.urlSlug).toMatch(/^robin-hood/)
    expect(state.missing).not.toContain('name')

    await complete(token)
    const done = (await (await call('GET', '/api/v1/onboarding', token)).json()) as { missing: string[] }
    expect(done.missing).toEqual([])
  })

  it('accepts several fields at once, all or nothing', async () => {
    const { token, id } = await onboardee()
    const bad = await patch(token, { gender: 'woman', dateOfBirth: '2015-01-01' })
    expect(bad.status).toBe(422)
    expect((await problem(bad)).errors).toEqual([expect.objectContaining({ path: 'json.dateOfBirth' })])
    const [draft] = await s.database.db.select().from(profiles).where(eq(profiles.userId, id))
    expect(draft?.gender ?? null).toBeNull()

    const ok = await patch(token, { gender: 'woman', seekingGenders: ['man', 'man'] })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ gender: 'woman', seekingGenders: ['man'] })
  })

  it.each([
    [{ name: '' }, 'json.name'],
    [{ name: 'x'.repeat(65) }, 'json.name'],
    [{ name: 'fuck you' }, 'json.name'],
    [{ dateOfBirth: '1990-02-30' }, 'json.dateOfBirth'],
    [{ dateOfBirth: '14/03/1990' }, 'json.dateOfBirth'],
    [{ dateOfBirth: '1850-01-01' }, 'json.dateOfBirth'],
    [{ location: 'Atlantis, Nowhere' }, 'json.location'],
    [{ gender: 'dragon' }, 'json.gender'],
    [{ seekingGenders: [] }, 'json.seekingGenders'],
    [{ seekingGenders: ['woman', 'dragon'] }, 'json.seekingGenders.1'],
    [{ favouriteColour: 'blue' }, 'json'],
    [{}, 'json'],
  ])('refuses %j naming %s', async (body, path) => {
    const { token } = await onboardee()
    const res = await patch(token, body)
    expect(res.status).toBe(422)
    const p = await problem(res)
    expect(p.code).toBe('validation_failed')
    expect(p.errors?.map((e) => e.path)).toContain(path)
  })

  it('refuses anyone under 18 on the day', async () => {
    const { token } = await onboardee()
    const now = new Date()
    const seventeen = new Date(Date.UTC(now.getUTCFullYear() - 18, now.getUTCMonth(), now.getUTCDate() + 1))
    const res = await patch(token, { dateOfBirth: seventeen.toISOString().slice(0, 10) })
    expect(res.status).toBe(422)
    expect((await problem(res)).detail).toMatch(/18/)
  })

  it('needs a token, and a non-JSON body is refused', async () => {
    expect((await call('GET', '/api/v1/onboarding')).status).toBe(401)
    expect((await call('PATCH', '/api/v1/onboarding', undefined, { name: 'A' })).status).toBe(401)
    expect((await call('POST', '/api/v1/onboarding/finish')).status).toBe(401)
    const { token } = await onboardee()
    expect((await call('PATCH', '/api/v1/onboarding', token, '{"name":', 'application/json')).status).toBe(
      400,
    )
  })
})

describe('finishing onboarding', () => {
  it('lists what is missing', async () => {
    const { token } = await onboardee()
    await patch(token, { name: 'Kim' })
    const res = await call('POST', '/api/v1/onboarding/finish', token)
    expect(res.status).toBe(422)
    expect((await problem(res)).errors?.map((e) => e.path)).toEqual([
      'dateOfBirth',
      'location',
      'gender',
      'seekingGenders',
    ])
  })

  it('creates the profile with search defaults, once', async () => {
    const { token, id } = await onboardee()
    expect((await call('GET', '/api/v1/me/profile', token)).status).toBe(409)
    await complete(token, { location: await placeLabel('US'), dateOfBirth: '1990-03-14' })

    const res = await call('POST', '/api/v1/onboarding/finish', token)
    expect(res.status).toBe(201)
    const profile = (await res.json()) as Record<string, unknown>
    expect(profile).toMatchObject({
      id,
      name: 'Robin',
      status: 'active',
      gender: 'man',
      units: 'imperial',
      photos: [],
      voiceBio: null,
      verification: { level: 'none', age: false, gender: false, ethnicity: false },
    })

    const [user] = await s.database.db.select().from(users).where(eq(users.id, id))
    expect(user!.status).toBe('active')
    const [prefs] = await s.database.db
      .select()
      .from(searchPreferences)
      .where(eq(searchPreferences.userId, id))
    const age = profile.age as number
    expect(prefs).toMatchObject({ genders: ['woman', 'non-binary'], ...defaultAgeRange(age) })

    const again = await call('POST', '/api/v1/onboarding/finish', token)
    expect(again.status).toBe(409)
    expect((await problem(again)).code).toBe('already_onboarded')
    expect((await patch(token, { name: 'Other' })).status).toBe(409)
    expect((await call('GET', '/api/v1/me/profile', token)).status).toBe(200)
  })

  it('uses metric units outside the US, UK, Liberia and Myanmar', async () => {
    const { token } = await onboardee()
    await complete(token)
    const res = await call('POST', '/api/v1/onboarding/finish', token)
    expect(((await res.json()) as { units: string }).units).toBe('metric')
  })

  it('derives the age range from the age', () => {
    expect(defaultAgeRange(18)).toEqual({ minAge: 18, maxAge: 20 })
    expect(defaultAgeRange(30)).toEqual({ minAge: 26, maxAge: 34 })
    expect(defaultAgeRange(98)).toEqual({ minAge: 80, maxAge: 99 })
  })
})

describe('default search distance', () => {
  // A gender pairing no other test file uses, so only the people arranged here are matches.
  const me = { gender: 'intersex', seeking: 'agender' } as const

  it('is unlimited when fewer than 500 mutual matches are reachable anywhere', async () => {
    const someone = await member({ profile: { gender: me.seeking, seekingGenders: [me.gender] } })
    const distance = await defaultDistanceKm(s, {
      userId: crypto.randomUUID(),
      latitude: someone.place.latitude,
      longitude: someone.place.longitude,
      gender: 'trans-man',
      age: 30,
      seekingGenders: ['transgender'],
      minAge: 25,
      maxAge: 35,
    })
    expect(distance).toBeNull()
  })

  it('reaches about 2,000 mutual matches', async () => {
    // 2,400 matches spread evenly 0–1,200 km north of the equator's (0, 0): 2,000 lie within ~1,000 km.
    const ids = Array.from({ length: 2400 }, () => crypto.randomUUID())
    for (let i = 0; i < ids.length; i += 800) {
      const batch = ids.slice(i, i + 800)
      await insertUsers(
        batch.map((id) => ({
          id,
          email: `dist-${id}@example.org`,
          emailDisplay: 'x',
          status: 'active' as const,
        })),
      )
      await s.database.db.insert(profiles).values(
        batch.map((userId, j) => ({
          userId,
          urlSlug: `dist-${userId}`,
          dateOfBirth: '1995-01-01',
          latitude: ((i + j) / 2400) * (1200 / 111.2),
          longitude: 0,
          gender: me.seeking,
          seekingGenders: [me.gender],
          onboardedAt: new Date(),
        })),
      )
      await s.database.db.insert(searchPreferences).values(
        batch.map((userId) => ({
          userId,
          genders: [me.gender],
          minAge: 18,
          maxAge: 99,
          maxDistanceKm: null,
        })),
      )
    }
    const distance = await defaultDistanceKm(s, {
      userId: crypto.randomUUID(),
      latitude: 0,
      longitude: 0,
      gender: me.gender,
      age: 31,
      seekingGenders: [me.seeking],
      minAge: 25,
      maxAge: 37,
    })
    // Five halvings of 0–10,000 km land within 312 km above the exact 1,000 km.
    expect(distance).toBeGreaterThanOrEqual(1000)
    expect(distance).toBeLessThanOrEqual(1320)
    await s.database.db.delete(users).where(inArray(users.id, ids))
  })
})

describe('purging stale onboardings', () => {
  it('drops drafts untouched for a week, their photos and name, and nothing else', async () => {
    const stale = await onboardee()
    await patch(stale.token, { name: 'Old Draft', gender: 'woman' })
    const photoId = crypto
      .getRandomValues(new Uint8Array(32))
      .reduce((h, b) => h + b.toString(16).padStart(2, '0'), '')
    await s.database.db.insert(photos).values({
      id: photoId,
      userId: stale.id,
      position: 1,
      blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj',
      width: 900,
      height: 900,
      contentHash: 'x',
    })
    const voiceId = 'cd'.repeat(32)
    await s.database.db.insert(voiceBios).values({
      userId: stale.id,
      id: voiceId,
      objectKey: `${voiceId}.m4a`,
      contentType: 'audio/mp4',
      codec: 'aac',
      durationMs: 5000,
      bytes: 40_000,
    })
    const weekAgo = new Date(Date.now() - 8 * 86_400_000)
    await s.database.db.update(voiceBios).set({ createdAt: weekAgo }).where(eq(voiceBios.userId, stale.id))
    await s.database.db.update(users).set({ createdAt: weekAgo }).where(eq(users.id, stale.id))
    await s.database.db.update(profiles).set({ updatedAt: weekAgo }).where(eq(profiles.userId, stale.id))
    await s.database.db.update(photos).set({ createdAt: weekAgo }).where(eq(photos.userId, stale.id))

    const fresh = await onboardee()
    await patch(fresh.token, { name: 'New Draft' })
    await s.database.db.update(users).set({ createdAt: weekAgo }).where(eq(users.id, fresh.id))

    const finished = await member()
    await s.database.db.update(profiles).set({ updatedAt: weekAgo }).where(eq(profiles.userId, finished.id))

    const purged = await purgeStaleOnboardings(s, { batchSize: 10_000 })
    expect(purged).toBeGreaterThanOrEqual(1)
    const remaining = await s.database.db
      .select({ userId: profiles.userId })
      .from(profiles)
      .where(inArray(profiles.userId, [stale.id, fresh.id, finished.id]))
    expect(remaining.map((r) => r.userId).sort()).toEqual([fresh.id, finished.id].sort())
    const [user] = await s.database.db.select().from(users).where(eq(users.id, stale.id))
    expect(user).toMatchObject({ name: null, status: 'onboarding' })
    const queued = await s.database.db
      .select({ key: storageDeletions.objectKey })
      .from(storageDeletions)
      .where(sql`${storageDeletions.objectKey} like ${'%' + photoId + '%'}`)
    expect(queued).toHaveLength(3)
    expect(await s.database.db.select().from(voiceBios).where(eq(voiceBios.userId, stale.id))).toHaveLength(0)
    expect(
      await s.database.db
        .select()
        .from(storageDeletions)
        .where(eq(storageDeletions.objectKey, `${voiceId}.m4a`)),
    ).toHaveLength(1)

    // The member can start again.
    const restart = await call('GET', '/api/v1/onboarding', stale.token)
    expect(((await restart.json()) as { missing: string[] }).missing).toHaveLength(5)
    await purgeStaleOnboardings(s, { batchSize: 10_000 })
    expect(await s.database.db.select().from(profiles).where(eq(profiles.userId, fresh.id))).toHaveLength(1)
  })
})
