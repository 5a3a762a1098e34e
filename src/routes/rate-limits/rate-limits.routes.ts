import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses, jsonBody } from '../../lib/http/openapi'
import { pageSchema, paginationQuery } from '../../lib/http/pagination'
import { isServedRouteTemplate } from '../../lib/http/route-templates'
import { requireAuth, requireRole } from '../../middleware/auth'
import { normalizeRouteTemplate, routeMethods } from '../../services/platform/rate-limit-rules'

const tags = ['Tiers']

export const RateLimitRuleSchema = z
  .object({
    id: z.uuid(),
    tierId: z.uuid(),
    name: z.string().openapi({ example: 'search' }),
    route: z.string().openapi({ example: 'POST /api/v1/search' }),
    limit: z.number().int().openapi({ example: 120 }),
    periodSeconds: z.number().int().openapi({ example: 60 }),
    algorithm: z.enum(['fixed', 'sliding']),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('RateLimitRule')

const route = z
  .string()
  .max(300)
  .transform((value, ctx) => {
    const template = normalizeRouteTemplate(value)
    if (template === null) {
      ctx.addIssue({
        code: 'custom',
        message: `expected "METHOD /path" with METHOD one of ${routeMethods.join(', ')} and {param} placeholders as in the OpenAPI paths`,
      })
      return z.NEVER
    }
    if (!isServedRouteTemplate(template)) {
      ctx.addIssue({
        code: 'custom',
        message: `no limited route ${template}; GET /openapi.json lists every route (method and path template)`,
      })
      return z.NEVER
    }
    return template
  })
  .openapi({
    description:
      'Route template as the OpenAPI document spells it: the method, a space, the path with `{param}` ' +
      'placeholders. Every path matching the template shares the limit.',
    example: 'POST /api/v1/search',
  })

const fields = {
  name: z.string().trim().min(1).max(100).openapi({ example: 'search' }),
  route,
  limit: z.number().int().min(1).max(1_000_000).openapi({ description: 'Requests per period', example: 120 }),
  periodSeconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 24 * 3600)
    .openapi({ example: 60 }),
  algorithm: z.enum(['fixed', 'sliding']).openapi({
    description: '`fixed`: counts reset at each period boundary; `sliding`: weighted over the last period',
  }),
}

// Strict: an unknown field (e.g. the boilerplate's `path`/`period`) is a 422, not silently ignored.
const CreateRuleSchema = z
  .strictObject({ ...fields, algorithm: fields.algorithm.default('fixed') })
  .openapi('CreateRateLimitRule')
const UpdateRuleSchema = z
  .strictObject({
    name: fields.name.optional(),
    route: fields.route.optional(),
    limit: fields.limit.optional(),
    periodSeconds: fields.periodSeconds.optional(),
    algorithm: fields.algorithm.optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, { message: 'Give at least one field to change' })
  .openapi('UpdateRateLimitRule', { minProperties: 1 })

const tierParam = z
  .string()
  .min(1)
  .max(100)
  .openapi({ param: { description: 'Tier name' }, example: 'free' })
const params = z.object({ tier: tierParam })
const ruleParams = z.object({ tier: tierParam, id: z.uuid() })
const json = { 'application/json': { schema: RateLimitRuleSchema } }

export const createRule = createRoute({
  method: 'post',
  path: '/api/v1/tier/{tier}/rate_limit',
  operationId: 'createRateLimit',
  tags,
  summary: 'Add a rate-limit rule to a tier',
  description:
    'Admins. One rule per tier and route template, and per tier and name (409 otherwise). Every running ' +
    'isolate applies the change within 60 s.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin')] as const,
  request: {
    params,
    body: jsonBody(CreateRuleSchema),
  },
  responses: {
    201: { description: 'Created', content: json },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429),
  },
})

export const listRules = createRoute({
  method: 'get',
  path: '/api/v1/tier/{tier}/rate_limits',
  operationId: 'listRateLimits',
  tags,
  summary: "List a tier's rate-limit rules, by route",
  description: 'Public, as in the boilerplate. Routes without a rule use the configured defaults.',
  request: { params, query: paginationQuery },
  responses: {
    200: {
      description: 'One page of rules',
      content: { 'application/json': { schema: pageSchema(RateLimitRuleSchema, 'RateLimitRulePage') } },
    },
    ...errorResponses(404, 422, 429),
  },
})

export const getRule = createRoute({
  method: 'get',
  path: '/api/v1/tier/{tier}/rate_limit/{id}',
  operationId: 'getRateLimit',
  tags,
  summary: 'Read one rate-limit rule',
  request: { params: ruleParams },
  responses: { 200: { description: 'The rule', content: json }, ...errorResponses(404, 422, 429) },
})

export const updateRule = createRoute({
  method: 'patch',
  path: '/api/v1/tier/{tier}/rate_limit/{id}',
  operationId: 'updateRateLimit',
  tags,
  summary: 'Change a rate-limit rule',
  description: 'Admins. Every running isolate applies the change within 60 s.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin')] as const,
  request: {
    params: ruleParams,
    body: jsonBody(UpdateRuleSchema),
  },
  responses: {
    200: { description: 'The changed rule', content: json },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429),
  },
})

export const deleteRule = createRoute({
  method: 'delete',
  path: '/api/v1/tier/{tier}/rate_limit/{id}',
  operationId: 'deleteRateLimit',
  tags,
  summary: 'Delete a rate-limit rule',
  description: 'Admins. The route falls back to the defaults for this tier.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole('admin')] as const,
  request: { params: ruleParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404, 422, 429) },
})
