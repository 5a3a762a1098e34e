import { createRouter } from '../../lib/http/router'
import * as handlers from './operators.handlers'
import * as routes from './operators.routes'

export const operatorsRouter = createRouter()
  .openapi(routes.login, handlers.login)
  .openapi(routes.refresh, handlers.refresh)
  .openapi(routes.logout, handlers.logout)
