import { createRouter } from '../../lib/http/router'
import * as handlers from './me.handlers'
import * as routes from './me.routes'

export const meRouter = createRouter()
  .openapi(routes.me, handlers.me)
  .openapi(routes.listSessions, handlers.listSessions)
  .openapi(routes.revokeSession, handlers.revokeSession)
