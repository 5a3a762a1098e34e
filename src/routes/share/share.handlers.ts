import type { RouteHandler } from '@hono/zod-openapi'
import { sharedPersonality } from '../../services/share/share'
import type { AppEnv } from '../../types'
import type * as routes from './share.routes'

export const getSharedPersonality: RouteHandler<typeof routes.getSharedPersonality, AppEnv> = async (c) =>
  c.json(await sharedPersonality(c.get('services'), c.req.valid('param').shareId), 200)
