import { z } from '@hono/zod-openapi'
import { and, asc, desc, eq, or, sql } from 'drizzle-orm'
import { places } from '../../db/schema'
import { placeSearchKey } from './place-search-key'
import type { Services } from '..'

export { placeSearchKey }

/**
 * Places members live in: the world-cities dataset loaded into `places` when migrations run
 * (scripts/places-data.ts, scripts/reference-data.ts), searched while typing during onboarding and
 * profile editing, and matched exactly when a member picks one.
 */

export type PlaceRow = typeof places.$inferSelect

export const PlaceSchema = z
  .object({
    id: z.number().int().openapi({ example: 2147714 }),
    label: z.string().openapi({
      description: 'The unique name to send back as `location` when onboarding or editing a profile',
      example: 'Sydney, New South Wales, Australia',
    }),
    shortLabel: z.string().openapi({ example: 'Sydney, Australia' }),
    name: z.string().openapi({ example: 'Sydney' }),
    region: z.string().nullable().openapi({ example: 'New South Wales' }),
    country: z.string().openapi({ example: 'Australia' }),
    countryCode: z.string().openapi({ description: 'ISO 3166-1 alpha-2', example: 'AU' }),
    latitude: z.number().openapi({ example: -33.86785 }),
    longitude: z.number().openapi({ example: 151.20732 }),
    population: z.number().int().openapi({ example: 4627345 }),
  })
  .openapi('Place')

export type Place = z.infer<typeof PlaceSchema>

/** The most suggestions one search returns . */
export const maxPlaceResults = 10

/** Longest query accepted: longer than any label a member would type. */
export const maxPlaceQueryLength = 100

/**
 * The least word similarity a fuzzy match needs. pg_trgm's default, 0.6, misses common typos
 * ("melborne" scores 0.58 against "melbourne"); at 0.5 the typo still ranks first, and the closest
 * matches are shown first anyway.
 */
export const placeSimilarityThreshold = 0.5

function present(row: Pick<PlaceRow, keyof Place>): Place {
  return {
    id: row.id,
    label: row.label,
    shortLabel: row.shortLabel,
    name: row.name,
    region: row.region,
    country: row.country,
    countryCode: row.countryCode,
    latitude: row.latitude,
    longitude: row.longitude,
    population: row.population,
  }
}

/**
 * Places matching what a member is typing, at most `limit` (≤ 10). Every
 * suggestion starts with the query's first letter; within that:
 *
 * 1. places whose search key starts with the query ("syd" → "sydney …"), most populous first —
 *    the place a member means is nearly always the big one;
 * 2. then fuzzy matches, for typos ("sydny"): pg_trgm's word similarity of the query to some
 *    run of words in the key is at least {@link placeSimilarityThreshold} (the `<%` operator,
 *    served by the trigram GIN index), closest first, then by population.
 *
 * The query is normalised like the keys ({@link placeSearchKey}), so case and accents don't
 * matter and "sydney australia" finds "Sydney, New South Wales, Australia". A query with no letter
 * or digit matches nothing.
 *
 * @example
 * const [first] = await searchPlaces(s, 'syd') // Sydney, New South Wales, Australia
 */
export async function searchPlaces(s: Services, q: string, limit = maxPlaceResults): Promise<Place[]> {
  const key = placeSearchKey(q.slice(0, maxPlaceQueryLength))
  const first = [...key][0]
  if (!first) return []
  const take = Math.max(1, Math.min(maxPlaceResults, Math.trunc(limit)))
  const isPrefix = sql`${places.searchKey} like ${`${key}%`}`
  // One or two letters make at most two trigrams, too few for similarity to mean anything, and
  // the fuzzy test on every place sharing the first letter costs ~15x the prefix scan.
  const fuzzy = [...key].length >= 3 ? sql`${key}::text <% ${places.searchKey}` : undefined
  const db = s.database.db
  const query = db
    .select({
      id: places.id,
      label: places.label,
      shortLabel: places.shortLabel,
      name: places.name,
      region: places.region,
      country: places.country,
      countryCode: places.countryCode,
      latitude: places.latitude,
      longitude: places.longitude,
      population: places.population,
    })
    .from(places)
    .where(and(sql`${places.searchKey} like ${`${first}%`}`, fuzzy ? or(isPrefix, fuzzy) : isPrefix))
    .orderBy(
      ...(fuzzy
        ? [
            sql`${isPrefix} desc`,
            sql`case when ${isPrefix} then 0 else ${key}::text <<-> ${places.searchKey} end`,
          ]
        : []),
      desc(places.population),
      asc(places.id),
    )
    .limit(take)
  if (!fuzzy) return (await query).map(present)
  // `<%` reads its threshold from a setting; SET LOCAL needs a transaction, which a batch is — still
  // one round trip over the HTTP driver.
  const [, rows] = await db.batch([
    db.execute(
      sql`select set_config('pg_trgm.word_similarity_threshold', ${String(placeSimilarityThreshold)}, true)`,
    ),
    query,
  ])
  return rows.map(present)
}

/**
 * The place whose label is exactly `label` (what the search returned), or undefined. Onboarding
 * and profile editing accept nothing else as a location.
 *
 * @example
 * const place = await findPlaceByLabel(s, 'Sydney, New South Wales, Australia')
 * if (!place) throw fieldError('json.location', 'Pick a place from the place search')
 */
export async function findPlaceByLabel(s: Services, label: string): Promise<PlaceRow | undefined> {
  if (label.length === 0 || label.length > 200) return undefined
  const [row] = await s.database.db.select().from(places).where(eq(places.label, label)).limit(1)
  return row
}
