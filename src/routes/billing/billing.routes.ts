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
    features: FeatureOverridesSchema.openapi({ description: "Every feature of the member's tier" }),
    subscriptions: z.array(
      z.object({
        source: z.enum(['revenuecat', 'stripe']),
        store: z.string().nullable().openapi({ description: '`APP_STORE`, `PLAY_STORE`, `stripe`, …' }),
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
    "Creates a Stripe Checkout Session for one of the configured prices and returns its URL; send the member's " +
    'browser there. The tier applies when Stripe confirms the payment (webhook). 409 while a web subscription ' +
    'is running (use the portal).',
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
  summary: 'Manage or cancel my web subscription (Stripe customer portal)',
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
      description:
        '`duplicate`: this event id was applied before; `stale`: older than what was applied; `unknown_member`: ' +
        'no such member (e.g. deleted); `ignored`: a type or product Rapport does not act on. Nothing is written ' +
        'for any of these.',
    }),
  })
  .openapi('WebhookAck')

export const receiveRevenueCatWebhook = createRoute({
  method: 'post',
  path: '/api/v1/webhooks/revenuecat',
  operationId: 'receiveRevenueCatWebhook',
  tags,
  summary: 'RevenueCat webhook (app-store purchases)',
  description:
    'Authorization: the value configured in RevenueCat (its SHA-256 is REVENUECAT_WEBHOOK_AUTH_SHA256); with ' +
    'REVENUECAT_WEBHOOK_SIGNING_SECRET set, `X-RevenueCat-Signature` must be the HMAC-SHA256 (hex) of the body. ' +
    'Idempotent by event id; an event older than the last applied one never undoes it.',
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
  description:
    '`Stripe-Signature` must carry an HMAC-SHA256 of `<t>.<body>` with STRIPE_WEBHOOK_SECRET and a `t` within ' +
    'STRIPE_WEBHOOK_TOLERANCE_SECONDS of now. Idempotent by event id; older events never undo newer ones.',
  security: [],
  middleware: [verifyStripe] as const,
  request: { body: jsonBody(StripeEventSchema) },
  responses: {
    200: { description: 'Acknowledged', content: { 'application/json': { schema: WebhookAckSchema } } },
    ...errorResponses(400, 413, 415, 422, 503),
  },
})
