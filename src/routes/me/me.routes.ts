import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../lib/http/openapi'
import { requireAuth } from '../../middleware/auth'
import { userRole, userStatus } from '../../db/schema'

const tags = ['Me']
const security = [{ bearerAuth: [] }]

export const MeSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string().nullable(),
    username: z.string().nullable(),
    role: z.enum(userRole.enumValues),
    status: z.enum(userStatus.enumValues),
    tier: z.string().nullable(),
    createdAt: z.iso.datetime(),
    lastOnlineAt: z.iso.datetime(),
  })
  .openapi('Me')

const SessionSchema = z
  .object({
    id: z.uuid(),
    client: z.enum(['web', 'mobile']),
    device: z.string().nullable(),
    ip: z.string(),
    createdAt: z.iso.datetime(),
    lastSeenAt: z.iso.datetime(),
    current: z.boolean().openapi({ description: 'The session this request was made with' }),
  })
  .openapi('Session')

export const me = createRoute({
  method: 'get',
  path: '/api/v1/me',
  operationId: 'getMe',
  tags,
  summary: 'The signed-in account',
  security,
  middleware: [requireAuth] as const,
  responses: {
    200: { description: 'The account', content: { 'application/json': { schema: MeSchema } } },
    ...errorResponses(401),
  },
})

export const listSessions = createRoute({
  method: 'get',
  path: '/api/v1/me/sessions',
  operationId: 'listSessions',
  tags,
  summary: 'Where I am signed in',
  security,
  middleware: [requireAuth] as const,
  responses: {
    200: {
      description: 'Live sessions, most recently used first',
      content: { 'application/json': { schema: z.object({ data: z.array(SessionSchema) }) } },
    },
    ...errorResponses(401),
  },
})

export const revokeSession = createRoute({
  method: 'delete',
  path: '/api/v1/me/sessions/{id}',
  operationId: 'revokeSession',
  tags,
  summary: 'Sign out one of my sessions',
  description: "Another member's session id is answered with 404, exactly like an unknown one.",
  security,
  middleware: [requireAuth] as const,
  request: { params: z.object({ id: z.uuid() }) },
  responses: { 204: { description: 'Revoked' }, ...errorResponses(401, 404, 422) },
})
