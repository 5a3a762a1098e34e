import { createRouter } from '../../lib/http/router'
import * as handlers from './auth.handlers'
import * as routes from './auth.routes'

export const authRouter = createRouter()
  .openapi(routes.requestCode, handlers.requestCode)
  .openapi(routes.resendCode, handlers.resendCode)
  .openapi(routes.verifyCode, handlers.verifyCode)
  .openapi(routes.refresh, handlers.refresh)
  .openapi(routes.logout, handlers.logout)
