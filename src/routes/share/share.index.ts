import { createRouter } from '../../lib/http/router'
import * as handlers from './share.handlers'
import * as routes from './share.routes'

export const shareRouter = createRouter().openapi(routes.getSharedPersonality, handlers.getSharedPersonality)
