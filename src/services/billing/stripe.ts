import { z } from '@hono/zod-openapi'
import { and, desc, eq } from 'drizzle-orm'
import { subscriptions, users } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { hmacHex, timingSafeEqualStrings } from '../../lib/crypto'
import {
  type Outcome,
  type SubscriptionChange,
  applySubscriptionEvent,
  entitledStatuses,
  tierIdByName,
} from './entitlements'
import type { Services } from '..'

/**
 * Stripe for web purchases, over its HTTP API with `fetch`. The official `stripe` SDK does run on
 * Workers (fetch client, SubtleCrypto webhook verification), but Rapport needs two calls and one
 * signature check — about a hundred lines here — while the SDK would add its whole resource
 * surface to a bundle that has a start-up budget. The base URL is configuration, so tests and
 * `npm run dev` talk to the local fake with this same code.
 */

const apiVersionHeader = { 'Stripe-Version': '2025-03-31.basil' }

function stripeConfig(s: Services) {
  const c = s.config.billing.stripe
  if (!c.secretKey || !c.returnUrl) {
    throw new ApiError('service_unavailable', 'Web purchases are not configured on this server')
  }
  return { ...c, secretKey: c.secretKey, returnUrl: c.returnUrl }
}

/** Stripe's form encoding: nested keys in brackets (`line_items[0][price]`). */
function form(fields: Record<string, string | undefined>): string {
  const body = new URLSearchParams()
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) body.append(k, v)
  return body.toString()
}

async function stripePost<T>(
  s: Services,
  path: string,
  fields: Record<string, string | undefined>,
): Promise<T> {
  const c = stripeConfig(s)
  let res: Response
  try {
    res = await fetch(`${c.apiUrl}${path}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${c.secretKey}`,
        'Content-Type': 'application/x-www-form-urlencoded',
        'Idempotency-Key': crypto.randomUUID(),
        ...apiVersionHeader,
      },
      body: form(fields),
      signal: AbortSignal.timeout(10_000),
    })
  } catch (err) {
    s.log.error('stripe.unreachable', { path, error: String(err) })
    throw new ApiError('service_unavailable', 'Stripe is unreachable; try again', { cause: err })
  }
  const body = (await res.json().catch(() => null)) as (T & { error?: { message?: string } }) | null
  if (!res.ok || !body) {
    s.log.error('stripe.request_failed', { path, status: res.status, error: body?.error?.message })
    throw new ApiError('service_unavailable', 'Stripe refused the request')
  }
  return body
}

async function stripeRow(s: Services, userId: string) {
  const [row] = await s.database.db
    .select()
    .from(subscriptions)
    .where(and(eq(subscriptions.userId, userId), eq(subscriptions.source, 'stripe')))
  return row
}

/**
 * A Checkout Session for one of the configured prices; the member is sent to its `url`. The
 * member id travels as `client_reference_id` and in the subscription's metadata, which is how the
 * webhook finds them again.
 *
 * @example
 * const { url } = await createCheckoutSession(s, caller.userId, 'price_gold_monthly')
 */
export async function createCheckoutSession(
  s: Services,
  userId: string,
  priceId: string,
): Promise<{ id: string; url: string }> {
  const c = stripeConfig(s)
  if (!c.priceTiers.has(priceId)) {
    throw new ApiError('validation_failed', 'No such price', {
      errors: [{ path: 'json.priceId', message: 'not one of the configured prices' }],
    })
  }
  const [[member], row] = await Promise.all([
    s.database.db.select({ email: users.emailDisplay }).from(users).where(eq(users.id, userId)),
    stripeRow(s, userId),
  ])
  if (!member) throw new ApiError('not_found', 'No such account')
  if (
    row &&
    entitledStatuses.includes(row.status as never) &&
    (row.expiresAt === null || row.expiresAt > s.clock.now())
  ) {
    throw new ApiError('already_subscribed', 'Already subscribed on the web; use the portal')
  }
  const back = new URL(c.returnUrl)
  const session = await stripePost<{ id: string; url: string }>(s, '/v1/checkout/sessions', {
    mode: 'subscription',
    'line_items[0][price]': priceId,
    'line_items[0][quantity]': '1',
    success_url: `${back.origin}${back.pathname}?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
    cancel_url: `${back.origin}${back.pathname}?checkout=cancelled`,
    client_reference_id: userId,
    ...(row?.stripeCustomerId ? { customer: row.stripeCustomerId } : { customer_email: member.email }),
    'metadata[user_id]': userId,
    'metadata[price_id]': priceId,
    'subscription_data[metadata][user_id]': userId,
  })
  return { id: session.id, url: session.url }
}

/**
 * A customer-portal link where the member manages or cancels their web subscription; 404 when
 * they never bought on the web.
 */
export async function createPortalSession(s: Services, userId: string): Promise<{ url: string }> {
  const c = stripeConfig(s)
  const row = await stripeRow(s, userId)
  if (!row?.stripeCustomerId) throw new ApiError('not_found', 'No web subscription to manage')
  const session = await stripePost<{ url: string }>(s, '/v1/billing_portal/sessions', {
    customer: row.stripeCustomerId,
    return_url: c.returnUrl,
  })
  return { url: session.url }
}

/**
 * Verify `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]` over the raw body: HMAC-SHA256 of
 * `<t>.<body>` with the endpoint's signing secret, compared in constant time with every `v1`,
 * and `t` within the tolerance of now (a captured delivery cannot be replayed later).
 */
export async function verifyStripeSignature(s: Services, header: string | undefined, rawBody: string) {
  const { webhookSecret, toleranceSeconds } = s.config.billing.stripe
  if (!webhookSecret) throw new ApiError('service_unavailable', 'The Stripe webhook is not configured')
  const parts = (header ?? '').split(',').map((p) => p.trim().split('='))
  const t = parts.find(([k]) => k === 't')?.[1]
  const signatures = parts.filter(([k, v]) => k === 'v1' && v).map(([, v]) => v!)
  if (!t || !/^\d{1,12}$/.test(t) || signatures.length === 0) {
    throw new ApiError('invalid_signature', 'Missing or malformed Stripe-Signature header')
  }
  const expected = await hmacHex(webhookSecret, `${t}.${rawBody}`)
  if (!signatures.some((v) => timingSafeEqualStrings(v, expected))) {
    throw new ApiError('invalid_signature', 'Stripe-Signature does not match the body')
  }
  const age = Math.abs(s.clock.now().getTime() / 1000 - Number(t))
  if (age > toleranceSeconds) {
    throw new ApiError('invalid_signature', `Timestamp outside the ${toleranceSeconds} s tolerance`)
  }
}

export const StripeEventSchema = z
  .object({
    id: z.string().min(1).max(255),
    type: z.string().min(1).max(100),
    created: z.number().int().nonnegative(),
    data: z.object({ object: z.record(z.string(), z.unknown()) }),
  })
  .passthrough()
  .openapi('StripeEvent')
export type StripeEvent = z.infer<typeof StripeEventSchema>

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined)
/** Expanded objects (`{id: …}`) and plain ids alike. */
const idOf = (v: unknown): string | undefined => str(v) ?? str((v as { id?: unknown } | null)?.id)
const meta = (o: Record<string, unknown>, key: string) =>
  str((o.metadata as Record<string, unknown> | undefined)?.[key])
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

async function memberByCustomer(s: Services, customer: string | undefined): Promise<string | undefined> {
  if (!customer) return undefined
  const [row] = await s.database.db
    .select({ userId: subscriptions.userId })
    .from(subscriptions)
    .where(eq(subscriptions.stripeCustomerId, customer))
    .orderBy(desc(subscriptions.updatedAt))
    .limit(1)
  return row?.userId
}

/** The subscription's price and current period end, from either API shape (item-level or top-level). */
function subscriptionFacts(sub: Record<string, unknown>) {
  const item = ((sub.items as { data?: Record<string, unknown>[] } | undefined)?.data ?? [])[0] ?? {}
  const price = idOf(item.price)
  const periodEnd = (item.current_period_end ?? sub.current_period_end) as number | undefined
  return { price, expiresAt: typeof periodEnd === 'number' ? new Date(periodEnd * 1000) : undefined }
}

/**
 * Apply one Stripe event: `checkout.session.completed` (the first purchase: customer and tier),
 * `customer.subscription.created/updated` (status, price, period end, cancel at period end),
 * `customer.subscription.deleted` (off), `invoice.payment_failed` (kept while Stripe retries, off
 * when no retry is left). Other types are acknowledged and ignored.
 */
export async function handleStripeEvent(s: Services, event: StripeEvent): Promise<Outcome | 'ignored'> {
  const o = event.data.object
  const base = {
    source: 'stripe' as const,
    eventId: event.id,
    type: event.type,
    occurredAt: new Date(event.created * 1000),
    payload: event,
  }
  const priceTier = (price: string | undefined) =>
    tierIdByName(s, price ? s.config.billing.stripe.priceTiers.get(price) : undefined)

  if (event.type === 'checkout.session.completed') {
    if (o.mode !== 'subscription') return 'ignored'
    const userId = str(o.client_reference_id) ?? meta(o, 'user_id')
    if (!userId || !uuidPattern.test(userId)) return 'unknown_member'
    const price = meta(o, 'price_id')
    const tierId = await priceTier(price)
    if (!tierId) return 'ignored'
    return applySubscriptionEvent(
      s,
      userId,
      { ...base, productId: price, tierId },
      {
        status: 'active',
        tierId,
        store: 'stripe',
        productId: price,
        externalId: idOf(o.subscription) ?? null,
        stripeCustomerId: idOf(o.customer) ?? null,
      },
    )
  }

  if (event.type.startsWith('customer.subscription.')) {
    const customer = idOf(o.customer)
    const userId = meta(o, 'user_id') ?? (await memberByCustomer(s, customer))
    if (!userId || !uuidPattern.test(userId)) return 'unknown_member'
    const { price, expiresAt } = subscriptionFacts(o)
    const tierId = await priceTier(price)
    let change: SubscriptionChange
    if (event.type === 'customer.subscription.deleted') {
      change = { status: 'expired', expiresAt: new Date(event.created * 1000) }
    } else if (
      event.type === 'customer.subscription.created' ||
      event.type === 'customer.subscription.updated'
    ) {
      const status = str(o.status)
      const live = status === 'active' || status === 'trialing'
      change = {
        status: live
          ? o.cancel_at_period_end === true
            ? 'cancelled'
            : 'active'
          : status === 'past_due'
            ? 'billing_issue'
            : 'expired',
        ...(tierId ? { tierId } : {}),
        store: 'stripe',
        productId: price ?? null,
        externalId: idOf(o.id) ?? null,
        stripeCustomerId: customer ?? null,
        expiresAt: live || status === 'past_due' ? (expiresAt ?? null) : new Date(event.created * 1000),
      }
      if (live && !tierId) return 'ignored'
    } else {
      return 'ignored'
    }
    return applySubscriptionEvent(s, userId, { ...base, productId: price, tierId }, change)
  }

  if (event.type === 'invoice.payment_failed') {
    const customer = idOf(o.customer)
    const userId = await memberByCustomer(s, customer)
    if (!userId) return 'unknown_member'
    // Stripe retries failed renewals on its schedule; the member keeps access until the paid
    // period ends unless no retry is left.
    const finalAttempt = o.next_payment_attempt === null
    return applySubscriptionEvent(s, userId, base, (current) => ({
      status: finalAttempt ? 'expired' : 'billing_issue',
      expiresAt: finalAttempt ? new Date(event.created * 1000) : (current?.expiresAt ?? null),
    }))
  }
  return 'ignored'
}
