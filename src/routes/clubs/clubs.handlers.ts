import type { RouteHandler } from '@hono/zod-openapi'
import * as clubs from '../../services/clubs/clubs'
import type { AppEnv, AuthedEnv } from '../../types'
import type * as routes from './clubs.routes'

export const joinClub: RouteHandler<typeof routes.joinClub, AuthedEnv> = async (c) => {
  const account = c.get('account')!
  const { club, joined } = await clubs.joinClub(
    c.get('services'),
    { userId: account.id, tierId: account.tierId },
    c.req.valid('json').name,
  )
  return joined ? c.json({ ...club, joined }, 201) : c.json({ ...club, joined }, 200)
}

export const leaveClub: RouteHandler<typeof routes.leaveClub, AuthedEnv> = async (c) => {
  await clubs.leaveClub(c.get('services'), c.get('caller').userId, c.req.valid('param').name)
  return c.body(null, 204)
}

export const myClubs: RouteHandler<typeof routes.myClubs, AuthedEnv> = async (c) =>
  c.json(await clubs.myClubs(c.get('services'), c.get('caller').userId, c.req.valid('query')), 200)

export const searchClubs: RouteHandler<typeof routes.searchClubs, AuthedEnv> = async (c) =>
  c.json(
    { clubs: await clubs.searchClubs(c.get('services'), c.get('caller').userId, c.req.valid('query').q) },
    200,
  )

export const topClubs: RouteHandler<typeof routes.topClubs, AppEnv> = async (c) =>
  c.json({ clubs: await clubs.publicClubs(c.get('services'), c.req.valid('query').q) }, 200)
