import type { RouteHandler } from '@hono/zod-openapi'
import { listSessions as listUserSessions, revokeOwnSession } from '../../services/accounts/sessions'
import type { AuthedEnv } from '../../types'
import type * as routes from './me.routes'

export const me: RouteHandler<typeof routes.me, AuthedEnv> = async (c) => {
  // requireAuth already resolved the account (from the short-lived cache or Postgres).
  const { tierId: _tierId, ...account } = c.get('account')!
  return c.json(account, 200)
}

export const listSessions: RouteHandler<typeof routes.listSessions, AuthedEnv> = async (c) => {
  const caller = c.get('caller')
  const rows = await listUserSessions(c.get('services'), caller.userId)
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

export const revokeSession: RouteHandler<typeof routes.revokeSession, AuthedEnv> = async (c) => {
  await revokeOwnSession(c.get('services'), c.get('caller').userId, c.req.valid('param').id)
  return c.body(null, 204)
}
