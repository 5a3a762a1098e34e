import { createRouter } from '../../lib/http/router'
import * as handlers from './conversations.handlers'
import * as routes from './conversations.routes'

export const conversationsRouter = createRouter()
  .openapi(routes.sendMessage, handlers.sendMessage)
  .openapi(routes.sendVoiceMessage, handlers.sendVoiceMessage)
