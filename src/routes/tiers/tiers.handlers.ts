import type { RouteHandler } from '@hono/zod-openapi'
import { paginate } from '../../lib/http/pagination'
import { cacheKey, cached, invalidate } from '../../services/platform/cache'
import {
  type Tier,
  createTier as create,
  deleteTier as remove,
  getTier as get,
  listTiers as list,
  readOverrides,
  resolveFeatures,
  updateTier as update,
} from '../../services/accounts/tiers'
import type { AppEnv, AuthedEnv } from '../../types'
import type * as routes from './tiers.routes'

/**
 * Public tier reads go through the Redis cache; every tier write drops the changed item and,
 * through the `tiers` tag, every cached list page that could contain it. 60 s bounds staleness
 * for writes made outside the API (`npm run bootstrap`).
 */
const tiersTag = 'tiers'
const ttlSeconds = 60
const itemKey = (name: string) => cacheKey('GET /api/v1/tier/{name}', { name })

function present(tier: Tier) {
  return {
    id: tier.id,
    name: tier.name,
    features: resolveFeatures(tier.features),
    overrides: readOverrides(tier.features),
    createdAt: tier.createdAt.toISOString(),
    updatedAt: tier.updatedAt.toISOString(),
  }
}

export const listTiers: RouteHandler<typeof routes.listTiers, AppEnv> = async (c) => {
  const s = c.get('services')
  const query = c.req.valid('query')
  const page = await cached(
    s,
    { key: cacheKey('GET /api/v1/tiers', query), ttlSeconds, tags: [tiersTag] },
    async () => {
      const { rows, total } = await list(s, query)
      return paginate(rows.map(present), total, query)
    },
  )
  return c.json(page, 200)
}

export const getTier: RouteHandler<typeof routes.getTier, AppEnv> = async (c) => {
  const s = c.get('services')
  const { name } = c.req.valid('param')
  const tier = await cached(s, { key: itemKey(name), ttlSeconds, tags: [tiersTag] }, async () =>
    present(await get(s, name)),
  )
  return c.json(tier, 200)
}

export const createTier: RouteHandler<typeof routes.createTier, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const tier = await create(s, c.req.valid('json'))
  await invalidate(s, { keys: [itemKey(tier.name)], tags: [tiersTag] })
  s.log.info('tiers.created', { tier: tier.name, by: c.get('caller').userId })
  return c.json(present(tier), 201)
}

export const updateTier: RouteHandler<typeof routes.updateTier, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const { name } = c.req.valid('param')
  const tier = await update(s, name, c.req.valid('json'))
  await invalidate(s, { keys: [itemKey(name), itemKey(tier.name)], tags: [tiersTag] })
  s.log.info('tiers.updated', { tier: tier.name, from: name, by: c.get('caller').userId })
  return c.json(present(tier), 200)
}

export const deleteTier: RouteHandler<typeof routes.deleteTier, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const { name } = c.req.valid('param')
  await remove(s, name)
  await invalidate(s, { keys: [itemKey(name)], tags: [tiersTag] })
  s.log.info('tiers.deleted', { tier: name, by: c.get('caller').userId })
  return c.body(null, 204)
}
