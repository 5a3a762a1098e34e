import type { RouteHandler } from '@hono/zod-openapi'
import { eq } from 'drizzle-orm'
import { tiers, users } from '../../db/schema'
import { ApiError } from '../../lib/errors'
import { listSessions as listUserSessions, revokeOwnSession } from '../../services/sessions'
import type { AppEnv } from '../../types'
import type * as routes from './me.routes'

export const me: RouteHandler<typeof routes.me, AppEnv> = async (c) => {
  const { database } = c.get('services')
  const [row] = await database.db
    .select({
      id: users.id,
      email: users.emailDisplay,
      name: users.name,
      username: users.username,
      role: users.role,
      status: users.status,
      tier: tiers.name,
      createdAt: users.createdAt,
      lastOnlineAt: users.lastOnlineAt,
    })
    .from(users)
    .leftJoin(tiers, eq(tiers.id, users.tierId))
    .where(eq(users.id, c.get('caller')!.userId))
  if (!row) throw new ApiError('not_found', 'The account no longer exists')
  c.header('Cache-Control', 'private, no-store')
  return c.json(
    { ...row, createdAt: row.createdAt.toISOString(), lastOnlineAt: row.lastOnlineAt.toISOString() },
    200,
  )
}

export const listSessions: RouteHandler<typeof routes.listSessions, AppEnv> = async (c) => {
  const caller = c.get('caller')!
  const rows = await listUserSessions(c.get('services'), caller.userId)
  c.header('Cache-Control', 'private, no-store')
  return c.json(
    {
      data: rows.map((r) => ({
        ...r,
        client: r.client as 'web' | 'mobile',
        createdAt: r.createdAt.toISOString(),
        lastSeenAt: r.lastSeenAt.toISOString(),
        current: r.id === caller.sessionId,
      })),
    },
    200,
  )
}

export const revokeSession: RouteHandler<typeof routes.revokeSession, AppEnv> = async (c) => {
  await revokeOwnSession(c.get('services'), c.get('caller')!.userId, c.req.valid('param').id)
  return c.body(null, 204)
}
