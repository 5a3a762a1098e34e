import { OpenAPIHono } from '@hono/zod-openapi'
import type { AppEnv } from '../types'
import { ApiError } from './errors'

export type Router = OpenAPIHono<AppEnv>

/**
 * Router factory with Rapport's validation hook: zod failures become 422 problems that list
 * every offending field as `<location>.<path>` (e.g. `json.email`, `query.page`).
 *
 * @example
 * export const tiersRouter = createRouter().openapi(routes.list, handlers.list)
 */
export function createRouter(): Router {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError('validation_failed', 'The request did not match the schema', {
          errors: result.error.issues.map((issue) => ({
            path: [result.target, ...issue.path.map(String)].join('.'),
            message: issue.message,
          })),
        })
      }
    },
  })
}
