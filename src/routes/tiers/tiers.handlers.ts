import type { RouteHandler } from '@hono/zod-openapi'
import { paginate } from '../../lib/pagination'
import {
  type Tier,
  createTier as create,
  deleteTier as remove,
  getTier as get,
  listTiers as list,
  readOverrides,
  resolveFeatures,
  updateTier as update,
} from '../../services/tiers'
import type { AppEnv } from '../../types'
import type * as routes from './tiers.routes'

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
  const query = c.req.valid('query')
  const { rows, total } = await list(c.get('services'), query)
  return c.json(paginate(rows.map(present), total, query), 200)
}

export const getTier: RouteHandler<typeof routes.getTier, AppEnv> = async (c) => {
  return c.json(present(await get(c.get('services'), c.req.valid('param').name)), 200)
}

export const createTier: RouteHandler<typeof routes.createTier, AppEnv> = async (c) => {
  const s = c.get('services')
  const tier = await create(s, c.req.valid('json'))
  s.log.info('tiers.created', { tier: tier.name, by: c.get('caller')!.userId })
  return c.json(present(tier), 201)
}

export const updateTier: RouteHandler<typeof routes.updateTier, AppEnv> = async (c) => {
  const s = c.get('services')
  const { name } = c.req.valid('param')
  const tier = await update(s, name, c.req.valid('json'))
  s.log.info('tiers.updated', { tier: tier.name, from: name, by: c.get('caller')!.userId })
  return c.json(present(tier), 200)
}

export const deleteTier: RouteHandler<typeof routes.deleteTier, AppEnv> = async (c) => {
  const s = c.get('services')
  const { name } = c.req.valid('param')
  await remove(s, name)
  s.log.info('tiers.deleted', { tier: name, by: c.get('caller')!.userId })
  return c.body(null, 204)
}
