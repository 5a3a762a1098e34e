import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses, jsonBody } from '../../lib/http/openapi'
import { pageSchema, paginationQuery } from '../../lib/http/pagination'
import { requireAuth, requireRole } from '../../middleware/auth'
import { ModerationLinkSchema } from '../../services/moderation/moderation-links'
import { ReportSchema } from '../../services/moderation/reports'
import { BanSchema } from '../admin-bans/admin-bans.routes'

const tags = ['Moderation']
const security = [{ bearerAuth: [] }]
const memberParam = z.object({ id: z.uuid().openapi({ param: { description: 'Member id' } }) })
const tokenParam = z.object({
  token: z
    .string()
    .max(200)
    .openapi({ param: { description: 'The link’s token: `<id>.<HMAC-SHA256 of the id>`, as emailed' } }),
})
const ShadowBanSchema = z
  .object({ memberId: z.uuid(), shadowBannedAt: z.iso.datetime().nullable() })
  .openapi('ShadowBan')
const htmlPage = { 'text/html': { schema: z.string() } }

export const listReports = createRoute({
  method: 'get',
  path: '/api/v1/admin/reports',
  operationId: 'listReports',
  tags,
  summary: 'Reports, newest first',
  description: 'Reporter, accused (with how many reports they have received), reason. Admins and moderators.',
  security,
  middleware: [requireAuth, requireRole('admin', 'moderator')] as const,
  request: { query: paginationQuery },
  responses: {
    200: {
      description: 'One page of reports',
      content: { 'application/json': { schema: pageSchema(ReportSchema, 'ReportPage') } },
    },
    ...errorResponses(401, 403, 422),
  },
})

const shadowBanRoute = (method: 'post' | 'delete') =>
  createRoute({
    method,
    path: '/api/v1/admin/members/{id}/shadow-ban',
    operationId: method === 'post' ? 'shadowBanMember' : 'liftShadowBan',
    tags,
    summary: method === 'post' ? 'Shadow-ban a member' : 'Lift a shadow ban',
    description:
      method === 'post'
        ? 'They keep seeing Rapport as normal; nobody else sees them in search, and their messages are not delivered. Idempotent (the first time is kept). Operators cannot be shadow-banned (403).'
        : 'Idempotent.',
    security,
    middleware: [requireAuth, requireRole('admin', 'moderator')] as const,
    request: { params: memberParam },
    responses: {
      200: {
        description: 'The member’s shadow-ban state',
        content: { 'application/json': { schema: ShadowBanSchema } },
      },
      ...errorResponses(401, 403, 404, 422),
    },
  })
export const shadowBan = shadowBanRoute('post')
export const liftShadowBan = shadowBanRoute('delete')

export const banMember = createRoute({
  method: 'post',
  path: '/api/v1/admin/members/{id}/ban',
  operationId: 'banMember',
  tags,
  summary: 'Ban a member’s email address',
  description:
    'A ban through the bans service (see `POST /api/v1/admin/bans`): ends every session at once; the reasons of ' +
    'reports against the member are appended. `days` defaults to 30. 409 when already banned.',
  security,
  middleware: [requireAuth, requireRole('admin', 'moderator')] as const,
  request: {
    params: memberParam,
    body: jsonBody(
      z
        .object({
          reason: z.string().trim().min(1).max(500),
          days: z.number().int().min(1).max(3650).optional(),
        })
        .strict()
        .openapi('BanMember'),
    ),
  },
  responses: {
    201: {
      description: 'Banned',
      content: {
        'application/json': {
          schema: BanSchema.extend({ revokedSessions: z.number().int() }).openapi('MemberBan'),
        },
      },
    },
    ...errorResponses(400, 401, 403, 404, 409, 415, 422),
  },
})

export const unbanMember = createRoute({
  method: 'delete',
  path: '/api/v1/admin/members/{id}/ban',
  operationId: 'unbanMember',
  tags,
  summary: 'Lift a member’s email bans',
  description: 'Lifts every ban in force on the member’s email (kept on record). 404 when none is in force.',
  security,
  middleware: [requireAuth, requireRole('admin', 'moderator')] as const,
  request: { params: memberParam },
  responses: {
    200: {
      description: 'Lifted',
      content: { 'application/json': { schema: z.object({ lifted: z.number().int() }).openapi('Unbanned') } },
    },
    ...errorResponses(401, 403, 404, 422),
  },
})

export const deletePhoto = createRoute({
  method: 'delete',
  path: '/api/v1/admin/photos/{photoId}',
  operationId: 'removeMemberPhoto',
  tags,
  summary: 'Delete a member’s photo and ban its file',
  description: 'The same file (by SHA-256) can no longer be uploaded by anyone.',
  security,
  middleware: [requireAuth, requireRole('admin', 'moderator')] as const,
  request: {
    params: z.object({
      photoId: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .openapi({ param: { description: 'Photo id' } }),
    }),
  },
  responses: {
    204: { description: 'Deleted' },
    ...errorResponses(401, 403, 404, 422),
  },
})

export const showLink = createRoute({
  method: 'get',
  path: '/api/v1/moderation/{token}',
  operationId: 'getModerationLink',
  tags,
  summary: 'What a moderation link from a report email will do',
  description:
    'Does nothing (mail scanners open links): browsers (`Accept: text/html`) get a page with a confirm button ' +
    'that POSTs to the same URL. 404 for a bad signature, 409 `link_used`, 410 `link_expired` (a month).',
  request: { params: tokenParam },
  responses: {
    200: {
      description: 'The pending action',
      content: { 'application/json': { schema: ModerationLinkSchema }, ...htmlPage },
    },
    ...errorResponses(404, 409, 410),
  },
})

export const useLink = createRoute({
  method: 'post',
  path: '/api/v1/moderation/{token}',
  operationId: 'useModerationLink',
  tags,
  summary: 'Carry out a moderation link (once)',
  description:
    'Bans the member (email, one month, sessions ended) or deletes the photo and bans its file. Works once: ' +
    'then 409 `link_used`; 410 `link_expired` after a month; 404 for a bad signature.',
  request: { params: tokenParam },
  responses: {
    200: {
      description: 'Done',
      content: {
        'application/json': {
          schema: z
            .object({
              action: z.enum(['ban', 'delete-photo']),
              memberId: z.uuid(),
              banId: z.uuid().optional(),
              photoId: z.string().optional(),
            })
            .openapi('ModerationLinkResult'),
        },
        ...htmlPage,
      },
    },
    ...errorResponses(403, 404, 409, 410),
  },
})
