import type { RouteHandler } from '@hono/zod-openapi'
import { paginate } from '../../lib/http/pagination'
import {
  type AdminUser,
  getUser as get,
  hardDeleteUser as hardDelete,
  listUsers as list,
  restoreUser as restore,
  setUserTier as setTier,
  softDeleteUser as softDelete,
  updateUser as update,
} from '../../services/accounts/users-admin'
import type { AuthedEnv } from '../../types'
import type * as routes from './users-admin.routes'

function present(user: AdminUser) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    username: user.username,
    role: user.role,
    status: user.status,
    tier: user.tier,
    signInCount: user.signInCount,
    lastSignInAt: user.lastSignInAt?.toISOString() ?? null,
    lastOnlineAt: user.lastOnlineAt.toISOString(),
    deactivatedAt: user.deactivatedAt?.toISOString() ?? null,
    deactivationReason: user.deactivationReason as 'user' | 'inactivity' | 'admin' | 'banned' | null,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  }
}

export const listUsers: RouteHandler<typeof routes.listUsers, AuthedEnv> = async (c) => {
  const query = c.req.valid('query')
  const { rows, total } = await list(c.get('services'), query)
  return c.json(paginate(rows.map(present), total, query), 200)
}

export const getUser: RouteHandler<typeof routes.getUser, AuthedEnv> = async (c) => {
  return c.json(present(await get(c.get('services'), c.req.valid('param').idOrUsername)), 200)
}

export const updateUser: RouteHandler<typeof routes.updateUser, AuthedEnv> = async (c) => {
  const { idOrUsername } = c.req.valid('param')
  const user = await update(c.get('services'), idOrUsername, c.req.valid('json'), c.get('caller').userId)
  return c.json(present(user), 200)
}

export const setUserTier: RouteHandler<typeof routes.setUserTier, AuthedEnv> = async (c) => {
  const { idOrUsername } = c.req.valid('param')
  return c.json(present(await setTier(c.get('services'), idOrUsername, c.req.valid('json').tier)), 200)
}

export const softDeleteUser: RouteHandler<typeof routes.softDeleteUser, AuthedEnv> = async (c) => {
  const { idOrUsername } = c.req.valid('param')
  const deleted = await softDelete(c.get('services'), idOrUsername, c.get('caller').userId)
  return c.json({ ...deleted, deletedAt: deleted.deletedAt.toISOString() }, 200)
}

export const restoreUser: RouteHandler<typeof routes.restoreUser, AuthedEnv> = async (c) => {
  return c.json(present(await restore(c.get('services'), c.req.valid('param').idOrUsername)), 200)
}

export const hardDeleteUser: RouteHandler<typeof routes.hardDeleteUser, AuthedEnv> = async (c) => {
  const { idOrUsername } = c.req.valid('param')
  await hardDelete(c.get('services'), idOrUsername, c.get('caller').userId)
  return c.body(null, 204)
}
