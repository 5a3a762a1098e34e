import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../lib/http/openapi'
import { publicCache } from '../../middleware/http-cache'
import { ClubNameSchema } from '../../services/clubs/clubs'
import { GenderStatsSchema, StatsSchema, statsTtlSeconds } from '../../services/platform/stats'

const tags = ['Stats']
const cache = publicCache({ maxAgeSeconds: statsTtlSeconds })
const notModified = { description: 'Not modified (the `If-None-Match` ETag still matches)' }

export const activeMembers = createRoute({
  method: 'get',
  path: '/api/v1/stats',
  operationId: 'getActiveMemberStats',
  tags,
  summary: 'How many members are active (public)',
  description: `Active: signed up, onboarded, not deactivated, deleted or shadow-banned. With \`club\`: those in that club (404 when there is no such club). Cached ${statsTtlSeconds} s.`,
  middleware: [cache] as const,
  request: { query: z.object({ club: ClubNameSchema.optional() }) },
  responses: {
    200: { description: 'The count', content: { 'application/json': { schema: StatsSchema } } },
    304: notModified,
    ...errorResponses(404, 422),
  },
})

export const genders = createRoute({
  method: 'get',
  path: '/api/v1/stats/genders',
  operationId: 'getGenderStats',
  tags,
  summary: 'Gender balance of active members (public)',
  description: `Men per woman and the share of non-binary members. Cached ${statsTtlSeconds} s.`,
  middleware: [cache] as const,
  responses: {
    200: { description: 'The balance', content: { 'application/json': { schema: GenderStatsSchema } } },
    304: notModified,
    ...errorResponses(),
  },
})
