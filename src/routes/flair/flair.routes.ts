import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../lib/http/openapi'
import { requireAuth, requireRole } from '../../middleware/auth'
import { FlairNameSchema } from '../../services/flair/flair'

const params = z.object({ userId: z.uuid(), flair: FlairNameSchema })
const GrantedFlairSchema = z
  .object({ flair: z.array(z.string()).openapi({ description: 'The flair admins granted this member' }) })
  .openapi('GrantedFlair')

export const grantFlair = createRoute({
  method: 'put',
  path: '/api/v1/admin/members/{userId}/flair/{flair}',
  operationId: 'grantFlair',
  tags: ['Moderation'],
  summary: 'Grant a member flair',
  description: `Admins only; logged with the admin's id. Idempotent. Computed flair names cannot be granted; at most 16 per member.`,
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin')] as const,
  request: { params },
  responses: {
    200: { description: 'Granted', content: { 'application/json': { schema: GrantedFlairSchema } } },
    ...errorResponses(401, 403, 404, 422, 429),
  },
})

export const removeFlair = createRoute({
  method: 'delete',
  path: '/api/v1/admin/members/{userId}/flair/{flair}',
  operationId: 'removeFlair',
  tags: ['Moderation'],
  summary: 'Remove flair an admin granted',
  description: `Admins only; logged with the admin's id. Removing flair the member does not hold changes nothing.`,
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin')] as const,
  request: { params },
  responses: {
    200: { description: 'Removed', content: { 'application/json': { schema: GrantedFlairSchema } } },
    ...errorResponses(401, 403, 404, 422, 429),
  },
})
