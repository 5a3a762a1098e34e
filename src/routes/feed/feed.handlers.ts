import type { RouteHandler } from '@hono/zod-openapi'
import { feedPage } from '../../services/feed/feed'
import type { AuthedEnv } from '../../types'
import type * as routes from './feed.routes'

export const getFeed: RouteHandler<typeof routes.getFeed, AuthedEnv> = async (c) =>
  c.json(await feedPage(c.get('services'), c.get('caller').userId, c.req.valid('query').before), 200)
