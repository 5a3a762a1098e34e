import { createRouter } from '../../lib/http/router'
import * as handlers from './social-sign-in.handlers'
import * as routes from './social-sign-in.routes'

export const socialSignInRouter = createRouter()
  .openapi(routes.signInWithGoogle, handlers.signInWithGoogle)
  .openapi(routes.signInWithApple, handlers.signInWithApple)
  .openapi(routes.startAppleWebSignIn, handlers.startAppleWebSignIn)
  .openapi(routes.appleCallback, handlers.appleCallback)
  .openapi(routes.listSignInMethods, handlers.listSignInMethods)
  .openapi(routes.unlinkSignInMethod, handlers.unlinkSignInMethod)
