import type { RouteHandler } from '@hono/zod-openapi'
import * as visits from '../../services/profiles/visits'
import type { AppEnv } from '../../types'
import type * as routes from './visitors.routes'

export const listVisitors: RouteHandler<typeof routes.listVisitors, AppEnv> = async (c) =>
  c.json(
    await visits.listVisitors(
      c.get('services'),
      c.get('caller')!.userId,
      c.req.valid('query'),
      new URL(c.req.url).origin,
    ),
    200,
  )

export const listVisited: RouteHandler<typeof routes.listVisited, AppEnv> = async (c) =>
  c.json(
    await visits.listVisited(
      c.get('services'),
      c.get('caller')!.userId,
      c.req.valid('query'),
      new URL(c.req.url).origin,
    ),
    200,
  )

export const markVisitorsChecked: RouteHandler<typeof routes.markVisitorsChecked, AppEnv> = async (c) =>
  c.json(await visits.markVisitorsChecked(c.get('services'), c.get('caller')!.userId), 200)
