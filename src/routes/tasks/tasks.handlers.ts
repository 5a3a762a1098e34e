import type { RouteHandler } from '@hono/zod-openapi'
import { ApiError } from '../../lib/http/errors'
import { type TaskRow, createEchoTask, readJobFor } from '../../services/platform/tasks'
import type { AuthedEnv } from '../../types'
import type * as routes from './tasks.routes'

const iso = (d: Date | null) => d?.toISOString() ?? null

function present(job: TaskRow) {
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    attempts: job.attempts,
    result: job.result ?? null,
    error: job.error,
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
  }
}

export const createTask: RouteHandler<typeof routes.createTask, AuthedEnv> = async (c) => {
  const { id } = await createEchoTask(c.get('services'), c.get('caller').userId, c.req.valid('query').message)
  c.header('Location', `/api/v1/tasks/task/${id}`)
  return c.json({ id }, 201)
}

export const readTask: RouteHandler<typeof routes.readTask, AuthedEnv> = async (c) => {
  const job = await readJobFor(c.get('services'), c.req.valid('param').id, c.get('caller'))
  if (!job) throw new ApiError('not_found', 'No task with that id')
  return c.json(present(job), 200)
}
