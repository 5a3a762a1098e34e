import { createRouter } from '../../lib/http/router'
import * as handlers from './moderation.handlers'
import * as routes from './moderation.routes'

export const moderationRouter = createRouter()
  .openapi(routes.listReports, handlers.listReports)
  .openapi(routes.shadowBan, handlers.shadowBan)
  .openapi(routes.liftShadowBan, handlers.liftShadowBan)
  .openapi(routes.banMember, handlers.banMember)
  .openapi(routes.unbanMember, handlers.unbanMember)
  .openapi(routes.deletePhoto, handlers.deletePhoto)
  .openapi(routes.showLink, handlers.showLink)
  .openapi(routes.useLink, handlers.useLink)
