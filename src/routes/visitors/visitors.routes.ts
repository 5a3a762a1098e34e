import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../lib/http/openapi'
import { pageSchema, paginationQuery } from '../../lib/http/pagination'
import { requireOnboarded } from '../../middleware/account-status'
import { requireAuth } from '../../middleware/auth'
import { VisitSchema } from '../../services/profiles/visits'

const tags = ['Visitors']
const security = [{ bearerAuth: [] }]
const VisitPageSchema = pageSchema(VisitSchema, 'VisitPage')

export const listVisitors = createRoute({
  method: 'get',
  path: '/api/v1/me/visitors',
  operationId: 'listVisitors',
  tags,
  summary: 'Who visited my profile',
  description:
    'Latest visit first, one row per member. Members browsing invisibly, shadow-banned, deactivated or deleted members and anyone in a skip with me are left out. `isNew`: visited after my last `POST /api/v1/me/visitors/checked`. New visits also arrive live on my inbox socket as `{type: "visitor", …row}`.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { query: paginationQuery },
  responses: {
    200: { description: 'A page of visitors', content: { 'application/json': { schema: VisitPageSchema } } },
    ...errorResponses(401, 409, 422),
  },
})

export const listVisited = createRoute({
  method: 'get',
  path: '/api/v1/me/visited',
  operationId: 'listVisited',
  tags,
  summary: 'Whose profiles I visited',
  description: 'Latest first; visits made while browsing invisibly are included and marked `invisible`.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { query: paginationQuery },
  responses: {
    200: { description: 'A page of visits', content: { 'application/json': { schema: VisitPageSchema } } },
    ...errorResponses(401, 409, 422),
  },
})

export const markVisitorsChecked = createRoute({
  method: 'post',
  path: '/api/v1/me/visitors/checked',
  operationId: 'markVisitorsChecked',
  tags,
  summary: 'Mark my visitors as seen',
  description: 'Visits until now stop being `isNew`.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  responses: {
    200: {
      description: 'Marked',
      content: {
        'application/json': {
          schema: z.object({ checkedAt: z.iso.datetime() }).openapi('VisitorsChecked'),
        },
      },
    },
    ...errorResponses(401, 409),
  },
})
