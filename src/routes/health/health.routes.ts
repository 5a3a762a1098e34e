import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../lib/http/openapi'
import { publicCache } from '../../middleware/http-cache'

const DependencySchema = z
  .object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() })
  .openapi('DependencyCheck')

export const liveness = createRoute({
  method: 'get',
  path: '/health',
  operationId: 'getHealth',
  tags: ['Health'],
  summary: 'Liveness: the Worker is running',
  description: 'Publicly cacheable for CLIENT_CACHE_MAX_AGE seconds, with an ETag (`If-None-Match` → 304).',
  middleware: [publicCache()] as const,
  responses: {
    304: { description: 'Not modified (the `If-None-Match` ETag still matches)' },
    200: {
      description: 'Alive',
      content: { 'application/json': { schema: z.object({ status: z.literal('ok') }).openapi('Liveness') } },
    },
    ...errorResponses(),
  },
})

export const readiness = createRoute({
  method: 'get',
  path: '/health/ready',
  operationId: 'getReadiness',
  tags: ['Health'],
  summary: 'Readiness: PostgreSQL and Redis answer',
  description: 'Checks every dependency concurrently (2 s timeout each). 503 names the failing dependencies.',
  responses: {
    200: {
      description: 'Every dependency answered',
      content: {
        'application/json': {
          schema: z
            .object({
              status: z.literal('ok'),
              checks: z.object({ postgres: DependencySchema, redis: DependencySchema }),
            })
            .openapi('Readiness'),
        },
      },
    },
    ...errorResponses(503),
  },
})
