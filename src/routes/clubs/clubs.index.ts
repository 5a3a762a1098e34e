import { createRouter } from '../../lib/http/router'
import * as handlers from './clubs.handlers'
import * as routes from './clubs.routes'

export const clubsRouter = createRouter()
  .openapi(routes.joinClub, handlers.joinClub)
  .openapi(routes.leaveClub, handlers.leaveClub)
  .openapi(routes.myClubs, handlers.myClubs)
  .openapi(routes.searchClubs, handlers.searchClubs)
  .openapi(routes.topClubs, handlers.topClubs)
