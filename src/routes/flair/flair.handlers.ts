import type { RouteHandler } from '@hono/zod-openapi'
import { setGrantedFlair } from '../../services/flair/grant'
import type { AuthedEnv } from '../../types'
import type * as routes from './flair.routes'

export const grantFlair: RouteHandler<typeof routes.grantFlair, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const { userId, flair } = c.req.valid('param')
  const result = await setGrantedFlair(s, userId, flair, true)
  s.log.info('flair.granted', { userId, flair, by: c.get('caller').userId })
  return c.json(result, 200)
}

export const removeFlair: RouteHandler<typeof routes.removeFlair, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const { userId, flair } = c.req.valid('param')
  const result = await setGrantedFlair(s, userId, flair, false)
  s.log.info('flair.removed', { userId, flair, by: c.get('caller').userId })
  return c.json(result, 200)
}
