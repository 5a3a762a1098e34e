import { createRouter } from '../../lib/http/router'
import * as handlers from './onboarding.handlers'
import * as routes from './onboarding.routes'

export const onboardingRouter = createRouter()
  .openapi(routes.getOnboarding, handlers.getOnboarding)
  .openapi(routes.updateOnboarding, handlers.updateOnboarding)
  .openapi(routes.finishOnboarding, handlers.finishOnboarding)
