import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../lib/http/openapi'
import { requireOnboarded } from '../../middleware/account-status'
import { requireAuth } from '../../middleware/auth'
import { FeedCursorSchema, FeedPageSchema } from '../../services/feed/feed'

export const getFeed = createRoute({
  method: 'get',
  path: '/api/v1/feed',
  operationId: 'getFeed',
  tags: ['Feed'],
  summary: 'What members did lately',
  description:
    'At most 50 items, newest first: members who joined, added a photo or voice bio, updated their bio (with the text added) or were online, within the last month. Only members I may see and who want my gender, ranked by gender, match % and time; pass `nextBefore` as `before` for the next page. Pages are the same all (UTC) day for the same data.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireOnboarded] as const,
  request: {
    query: z.object({
      before: FeedCursorSchema.optional().openapi({
        param: {
          description:
            'Only items below this: a previous `nextBefore`, or a date-time (items strictly older than it)',
        },
      }),
    }),
  },
  responses: {
    200: { description: 'One page of the feed', content: { 'application/json': { schema: FeedPageSchema } } },
    ...errorResponses(401, 409, 422, 429),
  },
})
