import type { RouteHandler } from '@hono/zod-openapi'
import * as visits from '../../services/profiles/visits'
import type { AuthedEnv } from '../../types'
import type * as routes from './visitors.routes'

export const listVisitors: RouteHandler<typeof routes.listVisitors, AuthedEnv> = async (c) =>
  c.json(await visits.listVisitors(c.get('services'), c.get('caller').userId, c.req.valid('query')), 200)

export const listVisited: RouteHandler<typeof routes.listVisited, AuthedEnv> = async (c) =>
  c.json(await visits.listVisited(c.get('services'), c.get('caller').userId, c.req.valid('query')), 200)

export const markVisitorsChecked: RouteHandler<typeof routes.markVisitorsChecked, AuthedEnv> = async (c) =>
  c.json(await visits.markVisitorsChecked(c.get('services'), c.get('caller').userId), 200)
