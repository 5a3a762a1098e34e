import type { RouteHandler } from '@hono/zod-openapi'
import { ApiError } from '../../lib/http/errors'
import { paginate } from '../../lib/http/pagination'
import {
  type Ban,
  createBan as create,
  isBanActive,
  liftBan as lift,
  listBans as list,
} from '../../services/moderation/bans'
import type { AuthedEnv } from '../../types'
import type * as routes from './admin-bans.routes'

function present(ban: Ban, now: Date) {
  return {
    id: ban.id,
    kind: ban.kind,
    value: ban.value,
    reason: ban.reason,
    active: isBanActive(ban, now),
    expiresAt: ban.expiresAt?.toISOString() ?? null,
    liftedAt: ban.liftedAt?.toISOString() ?? null,
    createdBy: ban.createdBy,
    createdAt: ban.createdAt.toISOString(),
  }
}

export const createBan: RouteHandler<typeof routes.createBan, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const caller = c.get('caller')
  const { ban, revokedSessions } = await create(s, c.req.valid('json'), caller)
  return c.json({ ...present(ban, s.clock.now()), revokedSessions }, 201)
}

export const listBans: RouteHandler<typeof routes.listBans, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const query = c.req.valid('query')
  const { rows, total } = await list(s, query)
  const now = s.clock.now()
  return c.json(
    paginate(
      rows.map((ban) => present(ban, now)),
      total,
      query,
    ),
    200,
  )
}

export const liftBan: RouteHandler<typeof routes.liftBan, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const { id } = c.req.valid('param')
  const ban = await lift(s, id)
  if (!ban) throw new ApiError('not_found', 'No ban with that id')
  s.log.info('bans.lifted', { banId: id, by: c.get('caller').userId })
  return c.json(present(ban, s.clock.now()), 200)
}
