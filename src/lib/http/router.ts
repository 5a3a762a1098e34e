import { OpenAPIHono } from '@hono/zod-openapi'
import { isRateLimitExempt, limitedRoute } from '../../middleware/auth'
import { withStorableInput } from '../../middleware/storable-input'
import type { AppEnv } from '../../types'
import { ApiError } from './errors'
import { completeRoute } from './openapi'

export type Router = OpenAPIHono<AppEnv>

/**
 * Router factory with Rapport's validation hook: zod failures become 422 problems that list
 * every offending field as `<location>.<path>` (e.g. `json.email`, `query.page`).
 *
 * @example
 * export const tiersRouter = createRouter().openapi(routes.list, handlers.list)
 */
export function createRouter(): Router {
  const router = new OpenAPIHono<AppEnv>({
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
  // Every route is rate limited per tier × route template (src/middleware/auth.ts explains why
  // around each route rather than in a global app.use), and refuses strings the database cannot
  // store before its validators and handler run.
  const register = router.openapi.bind(router)
  // Shared error responses, headers and the public `security: []` are then added in one place.
  router.openapi = ((route, handler, hook) =>
    register(
      completeRoute(withStorableInput(limitedRoute(route)), {
        rateLimited: !isRateLimitExempt(route.path),
      }),
      handler,
      hook,
    )) as Router['openapi']
  return router
}
