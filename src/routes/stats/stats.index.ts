import { createRouter } from '../../lib/http/router'
import * as handlers from './stats.handlers'
import * as routes from './stats.routes'

export const statsRouter = createRouter()
  .openapi(routes.activeMembers, handlers.activeMembers)
  .openapi(routes.genders, handlers.genders)
