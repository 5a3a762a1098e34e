import { createRouter } from '../../lib/http/router'
import * as handlers from './media.handlers'
import * as routes from './media.routes'

export const mediaRouter = createRouter()
  .openapi(routes.getImage, handlers.getImage)
  .openapi(routes.getAudio, handlers.getAudio)
