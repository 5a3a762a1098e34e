import { createRoute, z } from '@hono/zod-openapi'
import { normalizeEmail } from '../../services/accounts/email'
import { errorResponses, jsonBody } from '../../lib/http/openapi'
import { pageSchema, paginationQuery } from '../../lib/http/pagination'
import { requireAuth, requireRole } from '../../middleware/auth'
import { isIpLiteral } from '../../middleware/client-ip'

const tags = ['Moderation']

export const BanSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(['email', 'ip']),
    value: z.string().openapi({ description: 'Normalised email address, or IP address' }),
    reason: z.string(),
    active: z.boolean().openapi({ description: 'Not lifted and not expired' }),
    expiresAt: z.iso.datetime().nullable(),
    liftedAt: z.iso.datetime().nullable(),
    createdBy: z.uuid().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi('Ban')

/**
 * The ban body. `value` is checked against `kind` here, so a bad address or IP is a 422 on
 * `json.value` like any other field error, and handlers only see canonical values: emails
 * normalised (as accounts are keyed), IPv6 lower-cased (as CF-Connecting-IP spells it).
 */
const CreateBanSchema = z
  .object({
    kind: z.enum(['email', 'ip']),
    value: z.string().trim().min(1).max(254).openapi({ example: 'spammer@example.com' }),
    reason: z.string().trim().min(1).max(500).openapi({ example: 'Spam in chat' }),
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .openapi({ description: 'Omit for a permanent ban', example: '2030-01-01T00:00:00Z' }),
  })
  .transform((body, ctx) => {
    let value: string
    if (body.kind === 'email') {
      try {
        value = normalizeEmail(body.value)
      } catch {
        ctx.addIssue({ code: 'custom', path: ['value'], message: 'Invalid email address' })
        return z.NEVER
      }
    } else if (isIpLiteral(body.value)) {
      value = body.value.toLowerCase()
    } else {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'Invalid IP address' })
      return z.NEVER
    }
    return { ...body, value, expiresAt: body.expiresAt ? new Date(body.expiresAt) : null }
  })
  .openapi('CreateBan')

export const createBan = createRoute({
  method: 'post',
  path: '/api/v1/admin/bans',
  operationId: 'createBan',
  tags,
  summary: 'Ban an email address or an IP',
  description:
    'Admins and moderators. An email ban ends every live session of that account immediately. Moderators ' +
    'cannot ban operator accounts; nobody can ban their own. 409 when an active ban on the value exists.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin', 'moderator')] as const,
  request: { body: jsonBody(CreateBanSchema) },
  responses: {
    201: {
      description: 'Banned',
      content: {
        'application/json': {
          schema: BanSchema.extend({
            revokedSessions: z.number().int().openapi({ description: 'Sessions ended by this ban' }),
          }).openapi('CreatedBan'),
        },
      },
    },
    ...errorResponses(400, 401, 403, 409, 413, 415, 422),
  },
})

export const listBans = createRoute({
  method: 'get',
  path: '/api/v1/admin/bans',
  operationId: 'listBans',
  tags,
  summary: 'List bans, newest first',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin', 'moderator')] as const,
  request: {
    query: paginationQuery.extend({
      active: z
        .enum(['true', 'false'])
        .transform((v) => v === 'true')
        .optional()
        .openapi({ param: { description: '`true`: in force; `false`: lifted or expired' } }),
      kind: z.enum(['email', 'ip']).optional(),
    }),
  },
  responses: {
    200: {
      description: 'One page of bans',
      content: { 'application/json': { schema: pageSchema(BanSchema, 'BanPage') } },
    },
    ...errorResponses(401, 403, 422),
  },
})

export const liftBan = createRoute({
  method: 'delete',
  path: '/api/v1/admin/bans/{id}',
  operationId: 'liftBan',
  tags,
  summary: 'Lift a ban',
  description: 'The ban stays on record with `liftedAt`. Lifting a lifted ban changes nothing.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin', 'moderator')] as const,
  request: { params: z.object({ id: z.uuid() }) },
  responses: {
    200: { description: 'Lifted', content: { 'application/json': { schema: BanSchema } } },
    ...errorResponses(401, 403, 404, 422),
  },
})
