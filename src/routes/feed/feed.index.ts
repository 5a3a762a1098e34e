import { createRouter } from '../../lib/http/router'
import * as handlers from './feed.handlers'
import * as routes from './feed.routes'

export const feedRouter = createRouter().openapi(routes.getFeed, handlers.getFeed)
