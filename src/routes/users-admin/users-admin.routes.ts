import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses, jsonBody } from '../../lib/http/openapi'
import { pageSchema, paginationQuery } from '../../lib/http/pagination'
import { requireAuth, requireRole } from '../../middleware/auth'
import { userRole, userStatus } from '../../db/schema'

const tags = ['Users (admin)']

const roles = userRole.enumValues
const statuses = userStatus.enumValues

export const AdminUserSchema = z
  .object({
    id: z.uuid(),
    email: z.string().openapi({ example: 'Ada@example.org' }),
    name: z.string().nullable(),
    username: z.string().nullable().openapi({ description: 'Members have none until they choose one' }),
    role: z.enum(roles),
    status: z.enum(statuses),
    tier: z.string().nullable().openapi({ example: 'free' }),
    signInCount: z.number().int(),
    lastSignInAt: z.iso.datetime().nullable(),
    lastOnlineAt: z.iso.datetime(),
    deactivatedAt: z.iso.datetime().nullable(),
    deactivationReason: z.enum(['user', 'inactivity', 'admin', 'banned']).nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('AdminUser')

const UserParam = z.object({
  idOrUsername: z
    .string()
    .min(1)
    .max(64)
    .openapi({
      param: { name: 'idOrUsername', in: 'path', description: 'The account id, or its username' },
      example: 'ada',
    }),
})

export const listUsers = createRoute({
  method: 'get',
  path: '/api/v1/users',
  operationId: 'listUsers',
  tags,
  summary: 'List accounts, oldest first',
  description: 'Admins. Soft-deleted accounts are not listed. Ordered by creation time, then id.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin')] as const,
  request: {
    query: paginationQuery.extend({
      role: z.enum(roles).optional(),
      status: z.enum(statuses).optional(),
      tier: z
        .string()
        .min(1)
        .max(50)
        .optional()
        .openapi({ param: { description: 'A tier name' } }),
      search: z
        .string()
        .trim()
        .min(1)
        .max(100)
        .optional()
        .openapi({ param: { description: 'Case-insensitive part of the name, email or username' } }),
    }),
  },
  responses: {
    200: {
      description: 'One page of accounts',
      content: { 'application/json': { schema: pageSchema(AdminUserSchema, 'AdminUserPage') } },
    },
    ...errorResponses(401, 403, 422),
  },
})

export const getUser = createRoute({
  method: 'get',
  path: '/api/v1/user/{idOrUsername}',
  operationId: 'getUser',
  tags,
  summary: 'Read an account',
  description: 'Admins. Soft-deleted accounts are a 404.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin')] as const,
  request: { params: UserParam },
  responses: {
    200: { description: 'The account', content: { 'application/json': { schema: AdminUserSchema } } },
    ...errorResponses(401, 403, 404, 422),
  },
})

/** Only these fields; anything else (email, tier, deletedAt, passwordHash …) is a 422. */
const UserPatchSchema = z
  .object({
    name: z.string().trim().min(1).max(100).nullable().optional(),
    username: z
      .string()
      .regex(/^[a-z0-9_]{2,30}$/, 'lower-case letters, digits and "_", 2–30 characters')
      .optional(),
    role: z.enum(roles).optional(),
    status: z
      .enum(['active', 'deactivated'])
      .optional()
      .openapi({ description: '`deactivated` ends every session; sign-in is refused until reactivated' }),
  })
  .strict()
  .openapi('AdminUserPatch')

export const updateUser = createRoute({
  method: 'patch',
  path: '/api/v1/user/{idOrUsername}',
  operationId: 'updateUser',
  tags,
  summary: 'Change an account',
  description:
    'Admins. Only `name`, `username`, `role` and `status`; any other field is a 422. Changes apply on the ' +
    "account's next request. An admin cannot demote or deactivate themselves (403); a taken username is a 409.",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin')] as const,
  request: { params: UserParam, body: jsonBody(UserPatchSchema) },
  responses: {
    200: { description: 'Updated', content: { 'application/json': { schema: AdminUserSchema } } },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422),
  },
})

export const setUserTier = createRoute({
  method: 'patch',
  path: '/api/v1/user/{idOrUsername}/tier',
  operationId: 'setUserTier',
  tags,
  summary: "Change an account's tier",
  description: "Admins. Applies on the account's next request. An unknown tier is a 404.",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin')] as const,
  request: {
    params: UserParam,
    body: jsonBody(z.object({ tier: z.string().min(1).max(50).openapi({ example: 'gold' }) }).strict()),
  },
  responses: {
    200: { description: 'Updated', content: { 'application/json': { schema: AdminUserSchema } } },
    ...errorResponses(400, 401, 403, 404, 413, 415, 422),
  },
})

export const softDeleteUser = createRoute({
  method: 'delete',
  path: '/api/v1/user/{idOrUsername}',
  operationId: 'softDeleteUser',
  tags,
  summary: 'Soft-delete an account',
  description:
    'Admins. The account disappears from every read and cannot authenticate; its sessions end at once. ' +
    '`POST …/restore` undoes it. Admins cannot delete themselves (403).',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin')] as const,
  request: { params: UserParam },
  responses: {
    200: {
      description: 'Deleted',
      content: {
        'application/json': {
          schema: z
            .object({ id: z.uuid(), deletedAt: z.iso.datetime(), revokedSessions: z.number().int() })
            .openapi('SoftDeletedUser'),
        },
      },
    },
    ...errorResponses(401, 403, 404, 422),
  },
})

export const restoreUser = createRoute({
  method: 'post',
  path: '/api/v1/user/{idOrUsername}/restore',
  operationId: 'restoreUser',
  tags,
  summary: 'Restore a soft-deleted account',
  description: 'Admins. 409 when the account is not deleted. The member signs in again afterwards.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin')] as const,
  request: { params: UserParam },
  responses: {
    200: { description: 'Restored', content: { 'application/json': { schema: AdminUserSchema } } },
    ...errorResponses(401, 403, 404, 409, 422),
  },
})

export const hardDeleteUser = createRoute({
  method: 'delete',
  path: '/api/v1/db_user/{idOrUsername}',
  operationId: 'hardDeleteUser',
  tags,
  summary: 'Delete an account from the database',
  description:
    "Admins. Permanent, soft-deleted accounts included: the same path as a member's own deletion " +
    '(sessions revoked, their records removed; bans stay). Admins cannot delete themselves (403).',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin')] as const,
  request: { params: UserParam },
  responses: {
    204: { description: 'Deleted' },
    ...errorResponses(401, 403, 404, 422),
  },
})
