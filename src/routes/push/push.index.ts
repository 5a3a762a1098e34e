import { createRouter } from '../../lib/http/router'
import * as handlers from './push.handlers'
import * as routes from './push.routes'

export const pushRouter = createRouter()
  .openapi(routes.registerPushToken, handlers.registerPushToken)
  .openapi(routes.registerWebPushSubscription, handlers.registerWebPushSubscription)
  .openapi(routes.getPushTarget, handlers.getPushTarget)
  .openapi(routes.clearPushTarget, handlers.clearPushTarget)
  .openapi(routes.getVapidPublicKey, handlers.getVapidPublicKey)
