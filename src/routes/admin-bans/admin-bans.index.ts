import { createRouter } from '../../lib/http/router'
import * as handlers from './admin-bans.handlers'
import * as routes from './admin-bans.routes'

export const adminBansRouter = createRouter()
  .openapi(routes.createBan, handlers.createBan)
  .openapi(routes.listBans, handlers.listBans)
  .openapi(routes.liftBan, handlers.liftBan)
