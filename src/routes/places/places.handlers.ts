import type { RouteHandler } from '@hono/zod-openapi'
import { cacheKey, cached } from '../../services/platform/cache'
import { placeSearchKey, searchPlaces as search } from '../../services/profiles/places'
import type { AppEnv } from '../../types'
import type * as routes from './places.routes'

/**
 * Suggestions change only when the dataset is reloaded, and typing sends the same short prefixes
 * again and again (the one- and two-letter ones are the dearest to compute), so answers are
 * cached in Redis by normalised query ("Zür" and "zur" share an entry) for an hour.
 */
const ttlSeconds = 3600

export const searchPlaces: RouteHandler<typeof routes.searchPlaces, AppEnv> = async (c) => {
  const s = c.get('services')
  const { q } = c.req.valid('query')
  const key = placeSearchKey(q)
  const data = await cached(s, { key: cacheKey('GET /api/v1/places', { q: key }), ttlSeconds }, () =>
    search(s, key),
  )
  return c.json({ data }, 200)
}
