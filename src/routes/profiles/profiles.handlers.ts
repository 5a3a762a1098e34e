import type { RouteHandler } from '@hono/zod-openapi'
import * as profiles from '../../services/profiles/profiles'
import { pushVisitor } from '../../services/profiles/visits'
import type { AppEnv, AuthedEnv } from '../../types'
import type * as routes from './profiles.routes'

export const getMyProfile: RouteHandler<typeof routes.getMyProfile, AuthedEnv> = async (c) =>
  c.json(await profiles.getOwnProfile(c.get('services'), c.get('caller').userId), 200)

export const updateMyProfile: RouteHandler<typeof routes.updateMyProfile, AuthedEnv> = async (c) => {
  const account = c.get('account')!
  return c.json(
    await profiles.updateOwnProfile(
      c.get('services'),
      { userId: account.id, tierId: account.tierId },
      c.req.valid('json'),
    ),
    200,
  )
}

export const viewProfile: RouteHandler<typeof routes.viewProfile, AppEnv> = async (c) => {
  const s = c.get('services')
  const caller = c.get('caller')
  const account = c.get('account')
  // Members (not anonymous visitors, not oneself) leave a visit; visible ones are pushed live.
  const visitor =
    caller && account?.status === 'active' ? { userId: account.id, tierId: account.tierId } : null
  const { view, clubs, visit, visitorRow } = await profiles.viewProfilePage(
    s,
    caller ? { userId: caller.userId } : null,
    c.req.valid('param').idOrSlug,
    visitor,
  )
  if (visitor && visit && !visit.invisible && visitorRow) {
    c.executionCtx.waitUntil(pushVisitor(s, view.id, visitorRow))
  }
  // Visibility depends on who asks: never let a shared cache answer for someone else.
  c.header('Cache-Control', 'private, no-store')
  return c.json({ ...view, clubs }, 200)
}
