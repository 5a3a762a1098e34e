import { createRouter } from '../../lib/http/router'
import * as handlers from './profiles.handlers'
import * as routes from './profiles.routes'

export const profilesRouter = createRouter()
  .openapi(routes.getMyProfile, handlers.getMyProfile)
  .openapi(routes.updateMyProfile, handlers.updateMyProfile)
  .openapi(routes.viewProfile, handlers.viewProfile)
