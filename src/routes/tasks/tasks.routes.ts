import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../lib/http/openapi'
import { requireAuth } from '../../middleware/auth'
import { maxTaskMessageLength } from '../../services/platform/tasks'

const tags = ['Tasks']
const security = [{ bearerAuth: [] }]

export const TaskSchema = z
  .object({
    id: z.uuid(),
    type: z.string().openapi({ example: 'sample.echo' }),
    status: z.enum(['queued', 'running', 'succeeded', 'failed', 'dead']).openapi({
      description:
        '`queued` (also between retries, with `error` set), `running`, then `succeeded`, `failed` ' +
        '(permanently), or `dead` (gave up after the queue’s last retry)',
    }),
    attempts: z.number().int(),
    result: z.unknown().openapi({ description: 'The handler’s result once succeeded, else null' }),
    error: z.string().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    startedAt: z.iso.datetime().nullable(),
    finishedAt: z.iso.datetime().nullable(),
  })
  .openapi('Task')

export const createTask = createRoute({
  method: 'post',
  path: '/api/v1/tasks/task',
  operationId: 'createTask',
  tags,
  summary: 'Queue a sample background task',
  description:
    'The boilerplate’s contract: the message travels in the query string and the answer is 201 `{id}`. ' +
    'Unlike the boilerplate, an access token is required, so that every task has an owner who alone ' +
    '(with admins) can read it. Rate limited like every route: the caller’s tier rule for ' +
    'this route, else DEFAULT_RATE_LIMIT_LIMIT per DEFAULT_RATE_LIMIT_PERIOD seconds.',
  security,
  middleware: [requireAuth] as const,
  request: {
    query: z.object({
      message: z
        .string()
        .trim()
        .min(1)
        .max(maxTaskMessageLength)
        .openapi({ example: 'hello', param: { description: 'Echoed in the task’s result' } }),
    }),
  },
  responses: {
    201: {
      description: 'Queued; poll `GET /api/v1/tasks/task/{id}`',
      content: { 'application/json': { schema: z.object({ id: z.uuid() }).openapi('TaskCreated') } },
    },
    ...errorResponses(401, 422, 429),
  },
})

export const readTask = createRoute({
  method: 'get',
  path: '/api/v1/tasks/task/{id}',
  operationId: 'getTask',
  tags,
  summary: 'A task’s status and result',
  description: 'Only the task’s owner and admins can read it; anyone else gets 404, as for an unknown id.',
  security,
  middleware: [requireAuth] as const,
  request: { params: z.object({ id: z.uuid() }) },
  responses: {
    200: { description: 'The task', content: { 'application/json': { schema: TaskSchema } } },
    ...errorResponses(401, 404, 422),
  },
})
