import { eq, inArray } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { createApp } from '../../../src/app'
import { profiles } from '../../../src/db/schema'
import { isUsableSlug, reservedSlugs, slugCandidates } from '../../../src/services/profiles/slug-format'
import { assignUrlSlug, previewUrlSlug, slugAttempts } from '../../../src/services/profiles/slugs'
import { politeTag, services } from '../helpers'
import { insertUsers } from '../fixtures'

const s = services()
const tag = () => crypto.randomUUID().replaceAll('-', '').slice(0, 10)

/** A member with a profile row (an onboarding draft), as onboarding creates it. */
async function member(): Promise<string> {
  const t = tag()
  const [user] = await insertUsers([
    { email: `slug-${t}@example.org`, emailDisplay: `slug-${t}@example.org` },
  ])
  await s.database.db.insert(profiles).values({ userId: user!.id })
  return user!.id
}

async function slugOf(userId: string): Promise<string | null> {
  const [row] = await s.database.db
    .select({ urlSlug: profiles.urlSlug })
    .from(profiles)
    .where(eq(profiles.userId, userId))
  return row!.urlSlug
}

/** A name no other test (or earlier run) uses, so its plain slug starts free. */
const uniqueName = (first: string) => `${first} Zz${politeTag(10, (t) => `${first} Zz${t}`)}`

/** Always 0.5: the suffix of n digits is then "5" followed by n − 1 fives. */
const half = () => 0.5

describe('assignUrlSlug', () => {
  it("writes the name's slug to the member's profile", async () => {
    const id = await member()
    const name = uniqueName('Zoë Ávila')
    const slug = await assignUrlSlug(s, id, name)
    expect(slug).toMatch(/^zoe-avila-zz[0-9a-f]{10}$/)
    expect(await slugOf(id)).toBe(slug)
  })

  it('gives two members with the same name different slugs, the second with a suffix', async () => {
    const name = uniqueName('Ada')
    const first = await member()
    const second = await member()
    const a = await assignUrlSlug(s, first, name)
    const b = await assignUrlSlug(s, second, name)
    expect(b).not.toBe(a)
    expect(b).toMatch(new RegExp(`^${a}-[1-9]$`))
    expect(isUsableSlug(b)).toBe(true)
    expect(await slugOf(second)).toBe(b)
  })

  it('settles a race between members with one name through the unique index', async () => {
    const name = uniqueName('Grace')
    const ids = await Promise.all(Array.from({ length: 6 }, () => member()))
    const slugs = await Promise.all(ids.map((id) => assignUrlSlug(s, id, name)))
    expect(new Set(slugs).size).toBe(6)
    const stored = await s.database.db
      .select({ urlSlug: profiles.urlSlug })
      .from(profiles)
      .where(inArray(profiles.userId, ids))
    expect(stored.map((r) => r.urlSlug).sort()).toEqual([...slugs].sort())
  })

  it('keeps the slug when the new name gives the same one, and changes it otherwise', async () => {
    const id = await member()
    const name = uniqueName('Alan Turing')
    const taken = await member()
    await assignUrlSlug(s, taken, name)
    const slug = await assignUrlSlug(s, id, name)
    expect(slug).toMatch(/-[1-9]$/)
    // Same slug base: the suffixed slug stays rather than being re-rolled.
    expect(await assignUrlSlug(s, id, name.toUpperCase())).toBe(slug)
    const renamed = await assignUrlSlug(s, id, uniqueName('Alan Mathison'))
    expect(renamed).toMatch(/^alan-mathison-zz/)
    expect(await slugOf(id)).toBe(renamed)
  })

  it('never assigns a reserved or id-shaped slug', async () => {
    const admin = await assignUrlSlug(s, await member(), 'Admin')
    expect(admin).toMatch(/^admin-[1-9]\d*$/)
    const digits = await assignUrlSlug(s, await member(), '1234567')
    expect(digits).toMatch(/^1234567-[1-9]\d*$/)
  })

  it('gives a random word slug to a name with no Latin form', async () => {
    const slug = await assignUrlSlug(s, await member(), '山田 🌸')
    expect(slug).toMatch(/^[a-z]+-[1-9]\d*$/)
    expect(isUsableSlug(slug)).toBe(true)
    expect((await previewUrlSlug('山田 🌸')).isRandom).toBe(true)
  })

  it(`answers 409 after ${slugAttempts} taken slugs, leaving the slug unchanged`, async () => {
    const name = uniqueName('Taken')
    // With a fixed random source the candidates are known in advance: take every one of them.
    const candidates = await slugCandidates(name, slugAttempts, half)
    for (const candidate of candidates) {
      const other = await member()
      await s.database.db.update(profiles).set({ urlSlug: candidate }).where(eq(profiles.userId, other))
    }
    const id = await member()
    await expect(assignUrlSlug(s, id, name, { random: half })).rejects.toMatchObject({ code: 'conflict' })
    expect(await slugOf(id)).toBeNull()
    // One free candidate is enough.
    await s.database.db
      .update(profiles)
      .set({ urlSlug: null })
      .where(eq(profiles.urlSlug, candidates.at(-1)!))
    expect(await assignUrlSlug(s, id, name, { random: half })).toBe(candidates.at(-1))
  })

  it('answers 404 for an account without a profile row', async () => {
    const t = tag()
    const [user] = await insertUsers([
      { email: `noprofile-${t}@example.org`, emailDisplay: `noprofile-${t}@example.org` },
    ])
    await expect(assignUrlSlug(s, user!.id, 'Nobody')).rejects.toMatchObject({ code: 'not_found' })
  })
})

describe('reserved slugs', () => {
  it('include every path segment the app serves at the top level and under /api/v1', () => {
    const segments = new Set<string>()
    for (const { path } of createApp('local').routes) {
      const parts = path.split('/').filter(Boolean)
      const words = parts[0] === 'api' ? parts.slice(0, 3) : parts.slice(0, 1)
      for (const word of words) {
        if (word.startsWith(':') || word === '*') continue
        segments.add(word.toLowerCase().replace(/[^a-z0-9]+/g, '-'))
      }
    }
    expect(segments.size).toBeGreaterThan(15)
    expect([...segments].filter((word) => !reservedSlugs.has(word))).toEqual([])
  })
})
