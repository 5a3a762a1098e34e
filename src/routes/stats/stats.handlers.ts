import type { RouteHandler } from '@hono/zod-openapi'
import * as stats from '../../services/platform/stats'
import type { AppEnv } from '../../types'
import type * as routes from './stats.routes'

export const activeMembers: RouteHandler<typeof routes.activeMembers, AppEnv> = async (c) =>
  c.json(await stats.activeMemberStats(c.get('services'), c.req.valid('query').club ?? null), 200)

export const genders: RouteHandler<typeof routes.genders, AppEnv> = async (c) =>
  c.json(await stats.genderStats(c.get('services')), 200)
