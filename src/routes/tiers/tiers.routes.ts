import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses, jsonBody } from '../../lib/http/openapi'
import { pageSchema, paginationQuery } from '../../lib/http/pagination'
import { requireAuth, requireRole } from '../../middleware/auth'
import { publicCache } from '../../middleware/http-cache'
import { FeatureOverridesSchema, FeaturePatchSchema, featureSchemas } from '../../services/accounts/tiers'

const tags = ['Tiers']

const FeaturesSchema = z.object(featureSchemas).openapi('TierFeatures', {
  description: 'Every feature with its value for this tier (defaults filled in)',
})

export const TierSchema = z
  .object({
    id: z.uuid(),
    name: z.string().openapi({ example: 'gold' }),
    features: FeaturesSchema,
    overrides: FeatureOverridesSchema.openapi({
      description: "This tier's own values; features not listed use the default",
    }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('Tier')

/** Tier names appear in URLs: lower-case letters, digits, `-` and `_`. */
const TierName = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9_-]{0,49}$/, 'lower-case letters, digits, "-" and "_", at most 50 characters')
  .openapi({ example: 'gold' })

const NameParam = z.object({
  name: z
    .string()
    .min(1)
    .max(50)
    .openapi({ param: { name: 'name', in: 'path' }, example: 'gold' }),
})

export const listTiers = createRoute({
  method: 'get',
  path: '/api/v1/tiers',
  operationId: 'listTiers',
  tags,
  summary: 'List tiers, the default (oldest) first',
  // Anonymous-safe: public max-age + ETag/304 (src/middleware/http-cache.ts).
  middleware: [publicCache()] as const,
  request: { query: paginationQuery },
  responses: {
    200: {
      description: 'One page of tiers',
      content: { 'application/json': { schema: pageSchema(TierSchema, 'TierPage') } },
    },
    304: { description: 'Not modified (the `If-None-Match` ETag still matches)' },
    ...errorResponses(422),
  },
})

export const getTier = createRoute({
  method: 'get',
  path: '/api/v1/tier/{name}',
  operationId: 'getTier',
  tags,
  summary: 'Read a tier and its features',
  middleware: [publicCache()] as const,
  request: { params: NameParam },
  responses: {
    200: { description: 'The tier', content: { 'application/json': { schema: TierSchema } } },
    304: { description: 'Not modified (the `If-None-Match` ETag still matches)' },
    ...errorResponses(404, 422),
  },
})

export const createTier = createRoute({
  method: 'post',
  path: '/api/v1/tier',
  operationId: 'createTier',
  tags,
  summary: 'Create a tier',
  description: 'Admins. 409 when the name is taken. `features` lists overrides of the defaults.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin')] as const,
  request: {
    body: jsonBody(
      z
        .object({ name: TierName, features: FeatureOverridesSchema.optional() })
        .strict()
        .openapi('CreateTier'),
    ),
  },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: TierSchema } } },
    ...errorResponses(400, 401, 403, 409, 413, 415, 422),
  },
})

export const updateTier = createRoute({
  method: 'patch',
  path: '/api/v1/tier/{name}',
  operationId: 'updateTier',
  tags,
  summary: 'Rename a tier or change its features',
  description:
    'Admins. `features` is a JSON Merge Patch of the overrides: a value sets one, `null` returns the ' +
    'feature to its default, absent features stay as they are. Unknown features or out-of-range values ' +
    'are a 422; renaming onto a taken name a 409.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin')] as const,
  request: {
    params: NameParam,
    body: jsonBody(
      z
        .object({ name: TierName.optional(), features: FeaturePatchSchema.optional() })
        .strict()
        .openapi('UpdateTier'),
    ),
  },
  responses: {
    200: { description: 'Updated', content: { 'application/json': { schema: TierSchema } } },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422),
  },
})

export const deleteTier = createRoute({
  method: 'delete',
  path: '/api/v1/tier/{name}',
  operationId: 'deleteTier',
  tags,
  summary: 'Delete an unused tier',
  description:
    'Admins. 409 while users (soft-deleted ones included) hold the tier or it has rate-limit rules: ' +
    'move the users (`PATCH /api/v1/user/{idOrUsername}/tier`) and delete the rules first.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin')] as const,
  request: { params: NameParam },
  responses: {
    204: { description: 'Deleted' },
    ...errorResponses(401, 403, 404, 409, 422),
  },
})
