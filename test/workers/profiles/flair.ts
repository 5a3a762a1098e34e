import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { photos, profiles, tiers, voiceBios } from '../../../src/db/schema'
import { createServices } from '../../../src/services'
import { viewProfile } from '../../../src/services/profiles/profiles'
import { account, call, member } from '../fixtures'
import { envWith, problem, services, tierWithRules } from '../helpers'

const s = services()
const db = s.database.db
const tag = () => crypto.randomUUID().replaceAll('-', '').slice(0, 10)
const hex64 = () => (crypto.randomUUID() + crypto.randomUUID()).replaceAll('-', '')
const daysAgo = (n: number) => new Date(Date.now() - n * 24 * 3600 * 1000)

/** The flair another member sees on the profile of a member created with `opts`. */
async function flairOf(opts: Parameters<typeof member>[0] = {}, setup?: (id: string) => Promise<void>) {
  const them = await member({ ...opts, profile: { onboardedAt: daysAgo(1), ...opts.profile } })
  await setup?.(them.id)
  const viewer = await member()
  const res = await call('GET', `/api/v1/profiles/${them.id}`, viewer.token)
  expect(res.status).toBe(200)
  return ((await res.json()) as { flair: string[] }).flair
}

describe('computed flair', () => {
  it('none for a new member with nothing special', async () => {
    expect(await flairOf()).toEqual([])
  })

  it("gold from the tier's paidFlair feature, not from the tier's name", async () => {
    const [paid] = await db
      .insert(tiers)
      .values({ name: `p-${tag()}`, features: { paidFlair: true } })
      .returning()
    const [named] = await db
      .insert(tiers)
      .values({ name: `gold-${tag()}` })
      .returning()
    expect(await flairOf({ user: { tierId: paid!.id } })).toEqual(['gold'])
    expect(await flairOf({ user: { tierId: named!.id } })).toEqual([])
  })

  it('the highest answer count reached: 200, 500, 1,000', async () => {
    const counts = [199, 200, 499, 500, 1000]
    const flair = await Promise.all(counts.map((answerCount) => flairOf({ profile: { answerCount } })))
    expect(flair).toEqual([[], ['q-and-a-200'], ['q-and-a-200'], ['q-and-a-500'], ['q-and-a-1000']])
  })

  it('the longest membership reached: a week, a month, a year', async () => {
    const ages = [6, 8, 32, 370]
    const flair = await Promise.all(ages.map((d) => flairOf({ profile: { onboardedAt: daysAgo(d) } })))
    expect(flair).toEqual([[], ['one-week'], ['one-month'], ['one-year']])
  })

  it('a bio of at least 500 characters', async () => {
    expect(await flairOf({ profile: { about: 'a'.repeat(499) } })).toEqual([])
    expect(await flairOf({ profile: { about: 'a'.repeat(500) } })).toEqual(['long-bio'])
  })

  it('a voice bio, and an animated photo', async () => {
    const voice = async (userId: string) => {
      const id = hex64()
      await db.insert(voiceBios).values({
        userId,
        id,
        objectKey: `${id}.aac`,
        contentType: 'audio/aac',
        codec: 'aac',
        durationMs: 1000,
        bytes: 10,
      })
    }
    const photo = (isGif: boolean) => async (userId: string) => {
      await db.insert(photos).values({
        id: hex64(),
        userId,
        position: 1,
        blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj',
        width: 100,
        height: 100,
        isGif,
        contentHash: hex64(),
      })
    }
    expect(await flairOf({}, voice)).toEqual(['voice-bio'])
    expect(await flairOf({}, photo(true))).toEqual(['gif'])
    expect(await flairOf({}, photo(false))).toEqual([])
  })

  it('early adopter: onboarded before the configured cutoff', async () => {
    const withCutoff = createServices(envWith({ EARLY_ADOPTER_CUTOFF: daysAgo(2).toISOString() }))
    const early = await member({ profile: { onboardedAt: daysAgo(3) } })
    const late = await member({ profile: { onboardedAt: daysAgo(1) } })
    const viewer = await member()
    const view = (id: string) => viewProfile(withCutoff, { userId: viewer.id }, id)
    expect((await view(early.id)).flair).toEqual(['early-adopter'])
    expect((await view(late.id)).flair).toEqual([])
    // Without a cutoff nobody is an early adopter.
    expect((await viewProfile(s, { userId: viewer.id }, early.id)).flair).toEqual([])
  })
})

describe('granted flair', () => {
  const path = (userId: string, flair: string) => `/api/v1/admin/members/${userId}/flair/${flair}`

  it('an admin grants and removes flair, shown after the computed flair', async () => {
    const admin = await account('admin')
    const them = await member({ profile: { onboardedAt: daysAgo(10) } })
    const granted = await call('PUT', path(them.id, 'founder'), admin.token)
    expect(granted.status).toBe(200)
    expect(await granted.json()).toEqual({ flair: ['founder'] })
    // Idempotent.
    expect(await (await call('PUT', path(them.id, 'founder'), admin.token)).json()).toEqual({
      flair: ['founder'],
    })
    const viewer = await member()
    const seen = await call('GET', `/api/v1/profiles/${them.id}`, viewer.token)
    expect(((await seen.json()) as { flair: string[] }).flair).toEqual(['one-week', 'founder'])
    const removed = await call('DELETE', path(them.id, 'founder'), admin.token)
    expect(await removed.json()).toEqual({ flair: [] })
    const [row] = await db.select().from(profiles).where(eq(profiles.userId, them.id))
    expect(row!.flair).toEqual([])
  })

  it('401 without a token, 403 for members and moderators, 404 for an unknown member', async () => {
    const them = await member()
    expect((await call('PUT', path(them.id, 'founder'))).status).toBe(401)
    for (const role of ['member', 'moderator'] as const) {
      const other = await account(role)
      const res = await call('PUT', path(them.id, 'founder'), other.token)
      expect(res.status).toBe(403)
    }
    const admin = await account('admin')
    const missing = await call('PUT', path(crypto.randomUUID(), 'founder'), admin.token)
    expect(missing.status).toBe(404)
    expect((await problem(missing)).code).toBe('not_found')
  })

  it('422 for a malformed or computed flair name, or past 16 granted', async () => {
    const admin = await account('admin')
    const them = await member()
    for (const name of ['Not%20Slug', 'gold', 'one-year']) {
      const res = await call('PUT', path(them.id, name), admin.token)
      expect(res.status).toBe(422)
      expect((await problem(res)).errors?.[0]?.path).toBe('param.flair')
    }
    await db
      .update(profiles)
      .set({ flair: Array.from({ length: 16 }, (_, i) => `f${i}`) })
      .where(eq(profiles.userId, them.id))
    const full = await call('PUT', path(them.id, 'one-more'), admin.token)
    expect(full.status).toBe(422)
    expect((await call('PUT', path(them.id, 'f3'), admin.token)).status).toBe(200)
  })

  it("429 past the admin tier's limit", async () => {
    const tier = await tierWithRules('flair-rl', [
      { route: 'PUT /api/v1/admin/members/{userId}/flair/{flair}', limit: 1 },
    ])
    const admin = await account('admin', { tierId: tier.id })
    const them = await member()
    expect((await call('PUT', path(them.id, 'a'), admin.token)).status).toBe(200)
    const refused = await call('PUT', path(them.id, 'b'), admin.token)
    expect(refused.status).toBe(429)
    expect((await problem(refused)).code).toBe('rate_limited')
  })
})
