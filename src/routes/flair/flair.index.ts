import { createRouter } from '../../lib/http/router'
import * as handlers from './flair.handlers'
import * as routes from './flair.routes'

export const flairRouter = createRouter()
  .openapi(routes.grantFlair, handlers.grantFlair)
  .openapi(routes.removeFlair, handlers.removeFlair)
