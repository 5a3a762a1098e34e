import type { RouteHandler } from '@hono/zod-openapi'
import { paginate } from '../../lib/http/pagination'
import * as skips from '../../services/moderation/skips'
import type { AuthedEnv } from '../../types'
import type * as routes from './skips.routes'

export const skipMember: RouteHandler<typeof routes.skipMember, AuthedEnv> = async (c) => {
  const { skip, created, headers } = await skips.skipMember(
    c.get('services'),
    c.get('caller'),
    c.req.valid('param').memberId,
    {
      reportReason: c.req.valid('json').reportReason,
      ip: c.get('clientIp'),
    },
  )
  return created ? c.json(skip, 201, headers) : c.json(skip, 200, headers)
}

export const unskipMember: RouteHandler<typeof routes.unskipMember, AuthedEnv> = async (c) => {
  await skips.unskipMember(c.get('services'), c.get('caller'), c.req.valid('param').memberId)
  return c.body(null, 204)
}

export const listSkips: RouteHandler<typeof routes.listSkips, AuthedEnv> = async (c) => {
  const query = c.req.valid('query')
  const { rows, total } = await skips.listSkips(c.get('services'), c.get('caller'), query)
  return c.json(paginate(rows, total, query), 200)
}
