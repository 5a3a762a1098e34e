import { z } from '@hono/zod-openapi'
import { and, eq, inArray } from 'drizzle-orm'
import { subscriptions, users } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { hmacHex, sha256Hex, timingSafeEqualStrings } from '../../lib/crypto'
import {
  type Outcome,
  type SubscriptionChange,
  applySubscriptionEvent,
  entitledStatuses,
  tierIdByName,
} from './entitlements'
import type { Services } from '..'

/**
 * RevenueCat webhooks (app-store purchases). RevenueCat POSTs `{api_version, event}` with the
 * Authorization header value configured in its dashboard; Rapport stores only that value's
 * SHA-256 and compares in constant time. When a signing secret is configured, the
 * `X-RevenueCat-Signature` header must also carry the HMAC-SHA256 (hex) of the raw body.
 *
 * The app user id is the member id (apps call `Purchases.logIn(memberId)`); entitlements map to
 * tiers through REVENUECAT_ENTITLEMENT_TIERS.
 */

export const signatureHeader = 'x-revenuecat-signature'

const ms = z.number().int().nonnegative().nullish()

export const RevenueCatEventSchema = z
  .object({
    id: z.string().min(1).max(200),
    type: z.string().min(1).max(100),
    app_user_id: z.string().max(500).nullish(),
    original_app_user_id: z.string().max(500).nullish(),
    aliases: z.array(z.string().max(500)).max(100).nullish(),
    entitlement_ids: z.array(z.string().max(200)).max(50).nullish(),
    entitlement_id: z.string().max(200).nullish(),
    product_id: z.string().max(200).nullish(),
    store: z.string().max(50).nullish(),
    event_timestamp_ms: z.number().int().nonnegative(),
    expiration_at_ms: ms,
    grace_period_expiration_at_ms: ms,
    transferred_from: z.array(z.string().max(500)).max(100).nullish(),
    transferred_to: z.array(z.string().max(500)).max(100).nullish(),
  })
  .passthrough()
  .openapi('RevenueCatEvent')

export const RevenueCatWebhookSchema = z
  .object({ api_version: z.string().max(20).optional(), event: RevenueCatEventSchema })
  .openapi('RevenueCatWebhook')

export type RevenueCatEvent = z.infer<typeof RevenueCatEventSchema>

/**
 * Check the Authorization header (and the signature when signing is configured) before the body
 * is parsed. 401 without a match, 400 for a bad signature, 503 when the webhook is not configured.
 */
export async function verifyRevenueCatRequest(
  s: Services,
  req: { authorization: string | undefined; signature: string | undefined; rawBody: string },
): Promise<void> {
  const { authSha256, signingSecret } = s.config.billing.revenueCat
  if (!authSha256) throw new ApiError('service_unavailable', 'The RevenueCat webhook is not configured')
  const presented = await sha256Hex(req.authorization ?? '')
  if (!req.authorization || !timingSafeEqualStrings(presented, authSha256)) {
    throw new ApiError('invalid_webhook_auth', 'Authorization does not match')
  }
  if (signingSecret) {
    const expected = await hmacHex(signingSecret, req.rawBody)
    const given = (req.signature ?? '').trim().toLowerCase()
    if (!timingSafeEqualStrings(given, expected)) {
      throw new ApiError('invalid_signature', 'X-RevenueCat-Signature does not match the body')
    }
  }
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The member ids among RevenueCat app user ids (anonymous `$RCAnonymousID:…` ids are not members). */
const memberIds = (ids: (string | null | undefined)[]) => [
  ...new Set(ids.filter((id): id is string => !!id && uuidPattern.test(id)).map((id) => id.toLowerCase())),
]

function memberOf(event: RevenueCatEvent): string | undefined {
  return memberIds([event.app_user_id, event.original_app_user_id, ...(event.aliases ?? [])])[0]
}

async function tierOf(s: Services, event: RevenueCatEvent): Promise<string | null> {
  const map = s.config.billing.revenueCat.entitlementTiers
  const ids = [...(event.entitlement_ids ?? []), ...(event.entitlement_id ? [event.entitlement_id] : [])]
  const name = ids.map((id) => map.get(id)).find(Boolean)
  return tierIdByName(s, name)
}

const at = (value: number | null | undefined) =>
  value === null || value === undefined ? null : new Date(value)

const grantingTypes = new Set([
  'INITIAL_PURCHASE',
  'RENEWAL',
  'PRODUCT_CHANGE',
  'UNCANCELLATION',
  'NON_RENEWING_PURCHASE',
  'SUBSCRIPTION_EXTENDED',
])

/**
 * Apply one RevenueCat event. Types and what they do:
 * INITIAL_PURCHASE, RENEWAL, PRODUCT_CHANGE, UNCANCELLATION (and NON_RENEWING_PURCHASE,
 * SUBSCRIPTION_EXTENDED) turn the tier on until `expiration_at_ms`; CANCELLATION keeps it until
 * then; EXPIRATION turns it off; BILLING_ISSUE keeps it through Apple's/Google's grace period
 * (`grace_period_expiration_at_ms`) and no longer; TRANSFER moves it from the `transferred_from`
 * members to the `transferred_to` member. Everything else (TEST, SUBSCRIPTION_PAUSED, types added
 * later) is acknowledged and ignored.
 *
 * @example
 * const outcome = await handleRevenueCatEvent(s, body.event) // 'applied' | 'duplicate' | 'stale' | …
 */
export async function handleRevenueCatEvent(
  s: Services,
  event: RevenueCatEvent,
): Promise<Outcome | 'ignored'> {
  const base = {
    source: 'revenuecat' as const,
    eventId: event.id,
    type: event.type,
    occurredAt: new Date(event.event_timestamp_ms),
    productId: event.product_id ?? null,
    payload: event,
  }
  if (event.type === 'TRANSFER') return transfer(s, event, base)
  const userId = memberOf(event)
  if (!userId) return 'unknown_member'

  let change: SubscriptionChange
  if (grantingTypes.has(event.type)) {
    const tierId = await tierOf(s, event)
    if (!tierId) return 'ignored'
    change = {
      status: 'active',
      tierId,
      store: event.store ?? null,
      productId: event.product_id ?? null,
      expiresAt: at(event.expiration_at_ms),
    }
  } else if (event.type === 'CANCELLATION') {
    change = { status: 'cancelled', expiresAt: at(event.expiration_at_ms) }
  } else if (event.type === 'EXPIRATION') {
    change = {
      status: 'expired',
      expiresAt: at(event.expiration_at_ms) ?? new Date(event.event_timestamp_ms),
    }
  } else if (event.type === 'BILLING_ISSUE') {
    // Not an expiry by itself: the stores retry during a grace period, and access lasts through it.
    change = {
      status: 'billing_issue',
      expiresAt: at(event.grace_period_expiration_at_ms) ?? new Date(event.event_timestamp_ms),
    }
  } else {
    return 'ignored'
  }
  const tierId = change.tierId
  return applySubscriptionEvent(s, userId, { ...base, tierId }, change)
}

async function transfer(
  s: Services,
  event: RevenueCatEvent,
  base: Parameters<typeof applySubscriptionEvent>[2],
): Promise<Outcome | 'ignored'> {
  const to = memberIds(event.transferred_to ?? [])[0]
  const from = memberIds(event.transferred_from ?? []).filter((id) => id !== to)
  if (!to) return 'unknown_member'
  const fromRows = from.length
    ? await s.database.db
        .select()
        .from(subscriptions)
        .innerJoin(users, eq(users.id, subscriptions.userId))
        .where(and(inArray(subscriptions.userId, from), eq(subscriptions.source, 'revenuecat')))
    : []
  const moved = fromRows.map((r) => r.subscriptions).find((r) => entitledStatuses.includes(r.status as never))
  const tierId = moved?.tierId ?? (await tierOf(s, event))
  if (!tierId) return 'ignored'
  return applySubscriptionEvent(
    s,
    to,
    { ...base, tierId },
    {
      status: 'active',
      tierId,
      store: moved?.store ?? event.store ?? null,
      productId: moved?.productId ?? event.product_id ?? null,
      expiresAt: moved ? moved.expiresAt : at(event.expiration_at_ms),
    },
    async (tx) => {
      if (from.length === 0) return []
      const left = await tx
        .update(subscriptions)
        .set({ status: 'transferred', lastEventAt: base.occurredAt, updatedAt: s.clock.now() })
        .where(and(inArray(subscriptions.userId, from), eq(subscriptions.source, 'revenuecat')))
        .returning({ userId: subscriptions.userId })
      return left.map((r) => r.userId)
    },
  )
}
