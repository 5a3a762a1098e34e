import type { RouteHandler } from '@hono/zod-openapi'
import * as profiles from '../../services/profiles'
import type { AppEnv } from '../../types'
import type * as routes from './profiles.routes'

export const getMyProfile: RouteHandler<typeof routes.getMyProfile, AppEnv> = async (c) =>
  c.json(
    await profiles.getOwnProfile(c.get('services'), c.get('caller')!.userId, new URL(c.req.url).origin),
    200,
  )

export const updateMyProfile: RouteHandler<typeof routes.updateMyProfile, AppEnv> = async (c) => {
  const account = c.get('account')!
  return c.json(
    await profiles.updateOwnProfile(
      c.get('services'),
      { userId: account.id, tierId: account.tierId },
      c.req.valid('json'),
      new URL(c.req.url).origin,
    ),
    200,
  )
}

export const viewProfile: RouteHandler<typeof routes.viewProfile, AppEnv> = async (c) => {
  const caller = c.get('caller')
  const view = await profiles.viewProfile(
    c.get('services'),
    caller ? { userId: caller.userId } : null,
    c.req.valid('param').idOrSlug,
    new URL(c.req.url).origin,
  )
  // Visibility depends on who asks: never let a shared cache answer for someone else.
  c.header('Cache-Control', 'private, no-store')
  return c.json(view, 200)
}
