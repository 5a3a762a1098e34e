import { createRoute, z } from '@hono/zod-openapi'
import { createMiddleware } from 'hono/factory'
import { errorResponses, jsonBody } from '../../lib/http/openapi'
import { pageSchema, paginationQuery } from '../../lib/http/pagination'
import { requireAuth, requireRole } from '../../middleware/auth'
import {
  RevenueCatWebhookSchema,
  signatureHeader,
  verifyRevenueCatRequest,
} from '../../services/billing/revenuecat'
import { StripeEventSchema, verifyStripeSignature } from '../../services/billing/stripe'
import { FeatureOverridesSchema } from '../../services/accounts/tiers'
import type { AppEnv } from '../../types'

const tags = ['Billing']
const security = [{ bearerAuth: [] }]

/**
 * Webhooks are authenticated on the raw bytes before the body is parsed or validated: route
 * middleware runs ahead of the validators, and the text read here stays cached for them.
 */
const verifyRevenueCat = createMiddleware<AppEnv>(async (c, next) => {
  await verifyRevenueCatRequest(c.get('services'), {
    authorization: c.req.header('authorization'),
    signature: c.req.header(signatureHeader),
    rawBody: await c.req.text(),
  })
  await next()
})

const verifyStripe = createMiddleware<AppEnv>(async (c, next) => {
  await verifyStripeSignature(c.get('services'), c.req.header('stripe-signature'), await c.req.text())
  await next()
})

const SubscriptionSchema = z
  .object({
    tier: z.string().nullable().openapi({ example: 'gold' }),
    features: FeatureOverridesSchema,
    subscriptions: z.array(
      z.object({
        source: z.enum(['revenuecat', 'stripe']),
        store: z.string().nullable(),
        status: z.enum(['active', 'cancelled', 'billing_issue', 'expired', 'transferred']),
        tier: z.string().nullable(),
        productId: z.string().nullable(),
        renewsAt: z.iso.datetime().nullable(),
        endsAt: z.iso.datetime().nullable(),
      }),
    ),
  })
  .openapi('MemberSubscription')

export const getMySubscription = createRoute({
  method: 'get',
  path: '/api/v1/me/subscription',
  operationId: 'getMySubscription',
  tags,
  summary: 'My tier and the purchases behind it',
  security,
  middleware: [requireAuth] as const,
  responses: {
    200: {
      description: 'Tier, features, subscriptions',
      content: { 'application/json': { schema: SubscriptionSchema } },
    },
    ...errorResponses(401, 429),
  },
})

export const createCheckoutSession = createRoute({
  method: 'post',
  path: '/api/v1/billing/checkout',
  operationId: 'createCheckoutSession',
  tags,
  summary: 'Buy a tier on the web (Stripe Checkout)',
  description:
    'Send the browser to `url`; the tier applies once Stripe confirms payment. 409 while subscribed.',
  security,
  middleware: [requireAuth] as const,
  request: {
    body: jsonBody(
      z.object({ priceId: z.string().min(1).max(255).openapi({ example: 'price_gold_monthly' }) }),
    ),
  },
  responses: {
    201: {
      description: 'Checkout Session',
      content: {
        'application/json': { schema: z.object({ id: z.string(), url: z.url() }).openapi('CheckoutSession') },
      },
    },
    ...errorResponses(401, 409, 413, 415, 422, 429, 503),
  },
})

export const createBillingPortalSession = createRoute({
  method: 'post',
  path: '/api/v1/billing/portal',
  operationId: 'createBillingPortalSession',
  tags,
  summary: 'Stripe customer portal link',
  security,
  middleware: [requireAuth] as const,
  responses: {
    201: {
      description: 'Portal link',
      content: { 'application/json': { schema: z.object({ url: z.url() }).openapi('BillingPortalSession') } },
    },
    ...errorResponses(401, 404, 429, 503),
  },
})

const PurchaseSchema = z
  .object({
    id: z.uuid(),
    source: z.enum(['revenuecat', 'stripe']),
    eventId: z.string(),
    type: z.string().openapi({ example: 'INITIAL_PURCHASE' }),
    productId: z.string().nullable(),
    tier: z.string().nullable(),
    occurredAt: z.iso.datetime(),
    receivedAt: z.iso.datetime(),
  })
  .openapi('PurchaseEvent')

export const listMemberPurchases = createRoute({
  method: 'get',
  path: '/api/v1/user/{idOrUsername}/purchases',
  operationId: 'listMemberPurchases',
  tags: ['Users (admin)'],
  summary: "A member's purchase history",
  security,
  middleware: [requireAuth, requireRole('admin')] as const,
  request: {
    params: z.object({ idOrUsername: z.string().min(1).max(64) }),
    query: paginationQuery,
  },
  responses: {
    200: {
      description: 'Applied purchase events, newest first',
      content: { 'application/json': { schema: pageSchema(PurchaseSchema, 'PurchaseEventPage') } },
    },
    ...errorResponses(401, 403, 404, 422, 429),
  },
})

const WebhookAckSchema = z
  .object({
    received: z.literal(true),
    outcome: z.enum(['applied', 'duplicate', 'stale', 'unknown_member', 'ignored']).openapi({
      description: 'Anything but `applied` wrote nothing.',
    }),
  })
  .openapi('WebhookAck')

export const receiveRevenueCatWebhook = createRoute({
  method: 'post',
  path: '/api/v1/webhooks/revenuecat',
  operationId: 'receiveRevenueCatWebhook',
  tags,
  summary: 'RevenueCat webhook (app-store purchases)',
  description: 'Authorization as configured in RevenueCat; `X-RevenueCat-Signature` when signing is on.',
  security: [],
  middleware: [verifyRevenueCat] as const,
  request: { body: jsonBody(RevenueCatWebhookSchema) },
  responses: {
    200: { description: 'Acknowledged', content: { 'application/json': { schema: WebhookAckSchema } } },
    ...errorResponses(400, 401, 413, 415, 422, 503),
  },
})

export const receiveStripeWebhook = createRoute({
  method: 'post',
  path: '/api/v1/webhooks/stripe',
  operationId: 'receiveStripeWebhook',
  tags,
  summary: 'Stripe webhook (web purchases)',
  description: 'Verified by `Stripe-Signature` within the timestamp tolerance; idempotent by event id.',
  security: [],
  middleware: [verifyStripe] as const,
  request: { body: jsonBody(StripeEventSchema) },
  responses: {
    200: { description: 'Acknowledged', content: { 'application/json': { schema: WebhookAckSchema } } },
    ...errorResponses(400, 413, 415, 422, 503),
  },
})
