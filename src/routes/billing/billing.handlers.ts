import type { RouteHandler } from '@hono/zod-openapi'
import { handleRevenueCatEvent } from '../../services/billing/revenuecat'
import {
  createCheckoutSession as checkout,
  createPortalSession,
  handleStripeEvent,
} from '../../services/billing/stripe'
import { memberSubscription, purchaseHistory } from '../../services/billing/subscriptions'
import type { AppEnv, AuthedEnv } from '../../types'
import type * as routes from './billing.routes'

const iso = (d: Date | null) => d?.toISOString() ?? null

export const getMySubscription: RouteHandler<typeof routes.getMySubscription, AuthedEnv> = async (c) => {
  const sub = await memberSubscription(c.get('services'), c.get('caller').userId)
  return c.json(
    {
      tier: sub.tier,
      features: sub.features,
      subscriptions: sub.subscriptions.map((x) => ({
        ...x,
        status: x.status as 'active' | 'cancelled' | 'billing_issue' | 'expired' | 'transferred',
        renewsAt: iso(x.renewsAt),
        endsAt: iso(x.endsAt),
      })),
    },
    200,
  )
}

export const createCheckoutSession: RouteHandler<typeof routes.createCheckoutSession, AuthedEnv> = async (
  c,
) => {
  const session = await checkout(c.get('services'), c.get('caller').userId, c.req.valid('json').priceId)
  c.header('Cache-Control', 'no-store')
  return c.json(session, 201)
}

export const createBillingPortalSession: RouteHandler<
  typeof routes.createBillingPortalSession,
  AuthedEnv
> = async (c) => {
  const session = await createPortalSession(c.get('services'), c.get('caller').userId)
  c.header('Cache-Control', 'no-store')
  return c.json(session, 201)
}

export const listMemberPurchases: RouteHandler<typeof routes.listMemberPurchases, AuthedEnv> = async (c) => {
  const page = await purchaseHistory(
    c.get('services'),
    c.req.valid('param').idOrUsername,
    c.req.valid('query'),
  )
  return c.json(
    {
      ...page,
      data: page.data.map((p) => ({
        ...p,
        source: p.source as 'revenuecat' | 'stripe',
        occurredAt: p.occurredAt.toISOString(),
        receivedAt: p.receivedAt.toISOString(),
      })),
    },
    200,
  )
}

export const receiveRevenueCatWebhook: RouteHandler<typeof routes.receiveRevenueCatWebhook, AppEnv> = async (
  c,
) => {
  const outcome = await handleRevenueCatEvent(c.get('services'), c.req.valid('json').event)
  return c.json({ received: true as const, outcome }, 200)
}

export const receiveStripeWebhook: RouteHandler<typeof routes.receiveStripeWebhook, AppEnv> = async (c) => {
  const outcome = await handleStripeEvent(c.get('services'), c.req.valid('json'))
  return c.json({ received: true as const, outcome }, 200)
}
