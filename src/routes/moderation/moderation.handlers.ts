import type { RouteHandler } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { paginate } from '../../lib/http/pagination'
import { escapeHtml } from '../../lib/http/html'
import * as reports from '../../services/moderation/reports'
import * as sanctions from '../../services/moderation/sanctions'
import * as links from '../../services/moderation/moderation-links'
import { isBanActive } from '../../services/moderation/bans'
import type { AppEnv, AuthedEnv } from '../../types'
import type * as routes from './moderation.routes'

export const listReports: RouteHandler<typeof routes.listReports, AuthedEnv> = async (c) => {
  const query = c.req.valid('query')
  const { rows, total } = await reports.listReports(c.get('services'), query)
  return c.json(paginate(rows, total, query), 200)
}

export const shadowBan: RouteHandler<typeof routes.shadowBan, AuthedEnv> = async (c) =>
  c.json(await sanctions.setShadowBan(c.get('services'), c.req.valid('param').id, true), 200)

export const liftShadowBan: RouteHandler<typeof routes.liftShadowBan, AuthedEnv> = async (c) =>
  c.json(await sanctions.setShadowBan(c.get('services'), c.req.valid('param').id, false), 200)

export const banMember: RouteHandler<typeof routes.banMember, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const { ban, revokedSessions } = await sanctions.banMember(
    s,
    c.req.valid('param').id,
    c.req.valid('json'),
    c.get('caller'),
  )
  return c.json(
    {
      id: ban.id,
      kind: ban.kind,
      value: ban.value,
      reason: ban.reason,
      active: isBanActive(ban, s.clock.now()),
      expiresAt: ban.expiresAt?.toISOString() ?? null,
      liftedAt: ban.liftedAt?.toISOString() ?? null,
      createdBy: ban.createdBy,
      createdAt: ban.createdAt.toISOString(),
      revokedSessions,
    },
    201,
  )
}

export const unbanMember: RouteHandler<typeof routes.unbanMember, AuthedEnv> = async (c) =>
  c.json({ lifted: await sanctions.unbanMember(c.get('services'), c.req.valid('param').id) }, 200)

export const deletePhoto: RouteHandler<typeof routes.deletePhoto, AuthedEnv> = async (c) => {
  await sanctions.banAndDeletePhoto(c.get('services'), c.req.valid('param').photoId)
  return c.body(null, 204)
}

const wantsHtml = (c: Context) => /text\/html/.test(c.req.header('accept') ?? '')
const page = (body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Rapport moderation</title></head><body style="font-family:system-ui,sans-serif;max-width:40em;margin:2em auto">${body}</body></html>`

export const showLink: RouteHandler<typeof routes.showLink, AppEnv> = async (c) => {
  const link = await links.describeModerationLink(c.get('services'), c.req.valid('param').token)
  if (!wantsHtml(c)) return c.json(link, 200)
  const what =
    link.action === 'ban'
      ? `Ban <b>${escapeHtml(link.member.name ?? '')}</b> (${escapeHtml(link.member.email)}) for a month and sign them out.`
      : `Delete this photo of <b>${escapeHtml(link.member.name ?? '')}</b> (${escapeHtml(link.member.email)}) and block the file:<br><img src="${escapeHtml(link.photo!.url)}" width="300">`
  return c.html(
    page(
      `<p>${what}</p><p>Reason given: ${escapeHtml(link.reason ?? '')}</p><form method="post"><button type="submit">Confirm</button></form><p>The link works once and expires ${escapeHtml(link.expiresAt)}.</p>`,
    ),
    200,
  )
}

export const useLink: RouteHandler<typeof routes.useLink, AppEnv> = async (c) => {
  const result = await links.useModerationLink(c.get('services'), c.req.valid('param').token)
  if (!wantsHtml(c)) return c.json(result, 200)
  return c.html(
    page(
      `<p>Done: ${result.action === 'ban' ? 'the member is banned' : 'the photo is deleted and its file banned'}.</p>`,
    ),
    200,
  )
}
