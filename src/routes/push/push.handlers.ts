import type { RouteHandler } from '@hono/zod-openapi'
import { ApiError } from '../../lib/http/errors'
import {
  clearPushTarget as clear,
  getPushTarget as get,
  registerExpoToken,
  registerWebSubscription,
} from '../../services/push/targets'
import type { AppEnv, AuthedEnv } from '../../types'
import type * as routes from './push.routes'

export const registerPushToken: RouteHandler<typeof routes.registerPushToken, AuthedEnv> = async (c) => {
  const { id } = c.req.valid('param')
  const view = await registerExpoToken(c.get('services'), c.get('caller'), id, c.req.valid('json').token)
  return c.json(view, 200)
}

export const registerWebPushSubscription: RouteHandler<
  typeof routes.registerWebPushSubscription,
  AuthedEnv
> = async (c) => {
  const { id } = c.req.valid('param')
  const view = await registerWebSubscription(c.get('services'), c.get('caller'), id, c.req.valid('json'))
  return c.json(view, 200)
}

export const getPushTarget: RouteHandler<typeof routes.getPushTarget, AuthedEnv> = async (c) => {
  const view = await get(c.get('services'), c.get('caller'), c.req.valid('param').id)
  if (!view) throw new ApiError('not_found', 'This session has no push target')
  return c.json(view, 200)
}

export const clearPushTarget: RouteHandler<typeof routes.clearPushTarget, AuthedEnv> = async (c) => {
  await clear(c.get('services'), c.get('caller'), c.req.valid('param').id)
  return c.body(null, 204)
}

export const getVapidPublicKey: RouteHandler<typeof routes.getVapidPublicKey, AppEnv> = async (c) => {
  const vapid = c.get('services').config.push.vapid
  if (!vapid) throw new ApiError('not_found', 'Browser push is not configured')
  return c.json({ publicKey: vapid.publicKey }, 200)
}
