import type { RouteHandler } from '@hono/zod-openapi'
import { clubsOf } from '../../services/clubs/clubs'
import * as profiles from '../../services/profiles/profiles'
import { pushVisitor, recordVisit } from '../../services/profiles/visits'
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
  const s = c.get('services')
  const caller = c.get('caller')
  const account = c.get('account')
  const origin = new URL(c.req.url).origin
  const view = await profiles.viewProfile(
    s,
    caller ? { userId: caller.userId } : null,
    c.req.valid('param').idOrSlug,
    origin,
  )
  // Members (not anonymous visitors, not oneself) leave a visit; visible ones are pushed live.
  const visitor = caller && account?.status === 'active' && !view.isSelf ? account : null
  const [clubs, visit] = await Promise.all([
    clubsOf(s, view.id, caller?.userId ?? null),
    visitor ? recordVisit(s, { userId: visitor.id, tierId: visitor.tierId }, view.id) : null,
  ])
  if (visitor && visit && !visit.invisible) {
    c.executionCtx.waitUntil(pushVisitor(s, view.id, visitor.id, origin))
  }
  // Visibility depends on who asks: never let a shared cache answer for someone else.
  c.header('Cache-Control', 'private, no-store')
  return c.json({ ...view, clubs }, 200)
}
