import { createRouter } from '../../lib/http/router'
import * as handlers from './tiers.handlers'
import * as routes from './tiers.routes'

export const tiersRouter = createRouter()
  .openapi(routes.listTiers, handlers.listTiers)
  .openapi(routes.getTier, handlers.getTier)
  .openapi(routes.createTier, handlers.createTier)
  .openapi(routes.updateTier, handlers.updateTier)
  .openapi(routes.deleteTier, handlers.deleteTier)
