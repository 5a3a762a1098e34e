import { createRouter } from '../../lib/http/router'
import * as handlers from './skips.handlers'
import * as routes from './skips.routes'

export const skipsRouter = createRouter()
  .openapi(routes.skipMember, handlers.skipMember)
  .openapi(routes.unskipMember, handlers.unskipMember)
  .openapi(routes.listSkips, handlers.listSkips)
