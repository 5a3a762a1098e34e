import { createRouter } from '../../lib/http/router'
import * as handlers from './verification.handlers'
import * as routes from './verification.routes'

export const verificationRouter = createRouter()
  .openapi(routes.getVerification, handlers.getVerification)
  .openapi(routes.uploadSelfie, handlers.uploadSelfie)
  .openapi(routes.requestVerification, handlers.requestVerification)
