import { createRouter } from '../../lib/http/router'
import * as handlers from './visitors.handlers'
import * as routes from './visitors.routes'

export const visitorsRouter = createRouter()
  .openapi(routes.listVisitors, handlers.listVisitors)
  .openapi(routes.listVisited, handlers.listVisited)
  .openapi(routes.markVisitorsChecked, handlers.markVisitorsChecked)
