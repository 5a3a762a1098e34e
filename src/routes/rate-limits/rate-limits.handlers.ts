import type { RouteHandler } from '@hono/zod-openapi'
import { paginate } from '../../lib/http/pagination'
import * as rules from '../../services/platform/rate-limit-rules'
import type { AppEnv, AuthedEnv } from '../../types'
import type * as routes from './rate-limits.routes'

function present(rule: rules.RateLimitRule) {
  return {
    id: rule.id,
    tierId: rule.tierId,
    name: rule.name,
    route: rule.route,
    limit: rule.limit,
    periodSeconds: rule.periodSeconds,
    algorithm: rule.algorithm,
    createdAt: rule.createdAt.toISOString(),
    updatedAt: rule.updatedAt.toISOString(),
  }
}

export const createRule: RouteHandler<typeof routes.createRule, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const rule = await rules.createRule(s, c.req.valid('param').tier, c.req.valid('json'))
  s.log.info('rate_limit_rules.created', { ruleId: rule.id, route: rule.route, by: c.get('caller').userId })
  return c.json(present(rule), 201)
}

export const listRules: RouteHandler<typeof routes.listRules, AppEnv> = async (c) => {
  const query = c.req.valid('query')
  const { rows, total } = await rules.listRules(c.get('services'), c.req.valid('param').tier, query)
  return c.json(paginate(rows.map(present), total, query), 200)
}

export const getRule: RouteHandler<typeof routes.getRule, AppEnv> = async (c) => {
  const { tier, id } = c.req.valid('param')
  return c.json(present(await rules.getRule(c.get('services'), tier, id)), 200)
}

export const updateRule: RouteHandler<typeof routes.updateRule, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const { tier, id } = c.req.valid('param')
  const rule = await rules.updateRule(s, tier, id, c.req.valid('json'))
  s.log.info('rate_limit_rules.updated', { ruleId: id, by: c.get('caller').userId })
  return c.json(present(rule), 200)
}

export const deleteRule: RouteHandler<typeof routes.deleteRule, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const { tier, id } = c.req.valid('param')
  await rules.deleteRule(s, tier, id)
  s.log.info('rate_limit_rules.deleted', { ruleId: id, by: c.get('caller').userId })
  return c.body(null, 204)
}
