import { createRouter } from '../../lib/http/router'
import * as handlers from './sockets.handlers'
import * as routes from './sockets.routes'

export const socketsRouter = createRouter()
  .openapi(routes.conversationSocket, handlers.openConversation)
  .openapi(routes.hubSocket, handlers.openHub)
