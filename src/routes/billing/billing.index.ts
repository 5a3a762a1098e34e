import { createRouter } from '../../lib/http/router'
import * as handlers from './billing.handlers'
import * as routes from './billing.routes'

export const billingRouter = createRouter()
  .openapi(routes.getMySubscription, handlers.getMySubscription)
  .openapi(routes.createCheckoutSession, handlers.createCheckoutSession)
  .openapi(routes.createBillingPortalSession, handlers.createBillingPortalSession)
  .openapi(routes.listMemberPurchases, handlers.listMemberPurchases)
  .openapi(routes.receiveRevenueCatWebhook, handlers.receiveRevenueCatWebhook)
  .openapi(routes.receiveStripeWebhook, handlers.receiveStripeWebhook)
