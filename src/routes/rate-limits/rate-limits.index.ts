import { createRouter } from '../../lib/http/router'
import * as handlers from './rate-limits.handlers'
import * as routes from './rate-limits.routes'

export const rateLimitsRouter = createRouter()
  .openapi(routes.createRule, handlers.createRule)
  .openapi(routes.listRules, handlers.listRules)
  .openapi(routes.getRule, handlers.getRule)
  .openapi(routes.updateRule, handlers.updateRule)
  .openapi(routes.deleteRule, handlers.deleteRule)
