import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../lib/http/openapi'
import { publicCache } from '../../middleware/http-cache'
import { ShareIdSchema, SharedPersonalitySchema } from '../../services/share/share'

export const getSharedPersonality = createRoute({
  method: 'get',
  path: '/api/v1/share/{shareId}',
  operationId: 'getSharedPersonality',
  tags: ['Profiles'],
  summary: "A member's shared personality page",
  description:
    "Public and cacheable: the member's name and personality traits behind their share link (`shareId` on my own profile). Only for public profiles that neither hide from strangers nor ask viewers for verification; otherwise 404, as for an unknown id.",
  security: [],
  middleware: [publicCache()] as const,
  request: { params: z.object({ shareId: ShareIdSchema }) },
  responses: {
    200: {
      description: 'The shared page',
      content: { 'application/json': { schema: SharedPersonalitySchema } },
    },
    ...errorResponses(404, 422, 429),
  },
})
