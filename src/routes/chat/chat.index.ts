import { createRouter } from '../../lib/http/router'
import * as handlers from './chat.handlers'
import * as routes from './chat.routes'

export const chatRouter = createRouter()
  .openapi(routes.listInbox, handlers.listInbox)
  .openapi(routes.listMessages, handlers.listMessages)
  .openapi(routes.markRead, handlers.markRead)
  .openapi(routes.conversationHeader, handlers.conversationHeader)
