import { OpenAPIHono } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { isRateLimitExempt, refuseWhileBlocked, tierRateLimit } from '../../middleware/tier-rate-limit'
import type { AppEnv } from '../../types'
import { ApiError } from './errors'
import { errorResponses } from './openapi'

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
  // Every route is rate limited per tier × route template (src/middleware/tier-rate-limit.ts
  // explains why here rather than in a global app.use): the in-memory block check goes first,
  // the counting limiter last, after the route's own authentication.
  const register = router.openapi.bind(router)
  router.openapi = ((route, handler, hook) => {
    if (isRateLimitExempt(route.path)) return register(route, handler, hook)
    const own = (route.middleware === undefined ? [] : [route.middleware].flat()) as MiddlewareHandler[]
    return register(
      {
        ...route,
        middleware: [refuseWhileBlocked, ...own, tierRateLimit],
        // Documented on every limited route, since every one of them can answer it.
        responses: { ...errorResponses(429), ...route.responses },
      },
      handler,
      hook,
    )
  }) as Router['openapi']
  return router
}
