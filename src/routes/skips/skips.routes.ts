import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../lib/http/openapi'
import { pageSchema, paginationQuery } from '../../lib/http/pagination'
import { requireOnboarded } from '../../middleware/account-status'
import { requireAuth } from '../../middleware/auth'
import { SkipSchema, SkippedMemberSchema } from '../../services/moderation/skips'

const tags = ['Skips and reports']
const security = [{ bearerAuth: [] }]
const memberParam = z.object({
  memberId: z.uuid().openapi({ param: { description: 'The other member’s id' } }),
})

export const skipMember = createRoute({
  method: 'post',
  path: '/api/v1/skips/{memberId}',
  operationId: 'skipMember',
  tags,
  summary: 'Skip (hide) a member, optionally reporting them',
  description:
    'The member I skip can no longer open my profile (404) nor find me in search, and neither of us can message ' +
    'the other; I can still open their profile (to unskip them), and they leave my search results unless my ' +
    'search filters ask to show skipped members. ' +
    'With `reportReason` it is also a report to the moderators; reports are limited to one per 5 s and 20 a day ' +
    '(429 with Retry-After). Skipping again changes nothing (200); reporting someone already skipped turns the ' +
    'skip into a report. 422 for my own id, 404 for an unknown or deleted member.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: {
    params: memberParam,
    body: {
      required: false,
      content: {
        'application/json': {
          schema: z
            .object({ reportReason: z.string().trim().min(1).max(10_000).optional() })
            .strict()
            .openapi('SkipInput'),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'Already skipped (now reported, when a reason was given)',
      content: { 'application/json': { schema: SkipSchema } },
    },
    201: { description: 'Skipped', content: { 'application/json': { schema: SkipSchema } } },
    ...errorResponses(400, 401, 404, 409, 415, 422, 429),
  },
})

export const unskipMember = createRoute({
  method: 'delete',
  path: '/api/v1/skips/{memberId}',
  operationId: 'unskipMember',
  tags,
  summary: 'Take back my skip',
  description:
    'Deletes only my skip of this member (their skip of me stays). 404 when I had not skipped them.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { params: memberParam },
  responses: {
    204: { description: 'Unskipped' },
    ...errorResponses(401, 404, 409, 422),
  },
})

export const listSkips = createRoute({
  method: 'get',
  path: '/api/v1/me/skips',
  operationId: 'listSkips',
  tags,
  summary: 'Members I skipped, newest first',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { query: paginationQuery },
  responses: {
    200: {
      description: 'One page of skips',
      content: { 'application/json': { schema: pageSchema(SkippedMemberSchema, 'SkipPage') } },
    },
    ...errorResponses(401, 409, 422),
  },
})
