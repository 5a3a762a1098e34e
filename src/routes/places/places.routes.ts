import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../lib/http/openapi'
import { publicCache } from '../../middleware/http-cache'
import { PlaceSchema, maxPlaceQueryLength, maxPlaceResults } from '../../services/profiles/places'

const tags = ['Places']

export const PlaceListSchema = z
  .object({ data: z.array(PlaceSchema).max(maxPlaceResults) })
  .openapi('PlaceList')

export const searchPlaces = createRoute({
  method: 'get',
  path: '/api/v1/places',
  operationId: 'searchPlaces',
  tags,
  summary: 'Suggest places for a location field',
  description:
    `Up to ${maxPlaceResults} places for what a member is typing: every suggestion starts with the ` +
    'same letter as the query; places whose name starts with the query come first (most populous ' +
    'first), then close fuzzy matches for typos. Case and accents are ignored. Send the chosen ' +
    "place's `label` as the `location` when onboarding or editing a profile. Public; cacheable.",
  middleware: [publicCache()] as const,
  request: {
    query: z.object({
      q: z
        .string()
        .trim()
        .min(1, 'must not be empty')
        .max(maxPlaceQueryLength, `must be at most ${maxPlaceQueryLength} characters`)
        .openapi({ example: 'syd', description: 'What the member has typed so far' }),
    }),
  },
  responses: {
    200: {
      description: 'Matching places, best first (an empty list when nothing matches)',
      content: { 'application/json': { schema: PlaceListSchema } },
    },
    304: { description: 'Not modified (the `If-None-Match` ETag still matches)' },
    ...errorResponses(422),
  },
})
