import { count, desc, eq } from 'drizzle-orm'
import { purchaseEvents, subscriptions, tiers, users } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { type Page, type PageRequest, pageWindow } from '../../lib/http/pagination'
import { type Features, tierFeatures } from '../accounts/tiers'
import { getUser } from '../accounts/users-admin'
import type { Services } from '..'

export interface MemberSubscription {
  tier: string | null
  features: Features
  subscriptions: {
    source: 'revenuecat' | 'stripe'
    store: string | null
    status: string
    tier: string | null
    productId: string | null
    /** The next renewal, while the subscription renews. */
    renewsAt: Date | null
    /** When access ends, once it will not renew (cancelled, billing issue, expired). */
    endsAt: Date | null
  }[]
}

/**
 * The caller's tier, what it unlocks, and the purchases behind it.
 *
 * @example
 * const { tier, subscriptions } = await memberSubscription(s, caller.userId)
 */
export async function memberSubscription(s: Services, userId: string): Promise<MemberSubscription> {
  const [[member], rows] = await Promise.all([
    s.database.db
      .select({ tierId: users.tierId, tier: tiers.name })
      .from(users)
      .leftJoin(tiers, eq(tiers.id, users.tierId))
      .where(eq(users.id, userId)),
    s.database.db
      .select({ row: subscriptions, tier: tiers.name })
      .from(subscriptions)
      .leftJoin(tiers, eq(tiers.id, subscriptions.tierId))
      .where(eq(subscriptions.userId, userId))
      .orderBy(desc(subscriptions.updatedAt)),
  ])
  if (!member) throw new ApiError('not_found', 'No such account')
  return {
    tier: member.tier,
    features: await tierFeatures(s, member.tierId),
    subscriptions: rows.map(({ row, tier }) => ({
      source: row.source as 'revenuecat' | 'stripe',
      store: row.store,
      status: row.status,
      tier,
      productId: row.productId,
      renewsAt: row.status === 'active' ? row.expiresAt : null,
      endsAt: row.status === 'active' ? null : row.expiresAt,
    })),
  }
}

export interface PurchaseRecord {
  id: string
  source: string
  eventId: string
  type: string
  productId: string | null
  tier: string | null
  occurredAt: Date
  receivedAt: Date
}

/**
 * Every purchase event applied to a member, newest first (admins).
 *
 * @example
 * const page = await purchaseHistory(s, 'jane_doe', { page: 1, items_per_page: 20 })
 */
export async function purchaseHistory(
  s: Services,
  idOrUsername: string,
  request: PageRequest,
): Promise<Page<PurchaseRecord>> {
  const user = await getUser(s, idOrUsername)
  const { limit, offset } = pageWindow(request)
  const [rows, [total]] = await Promise.all([
    s.database.db
      .select({
        id: purchaseEvents.id,
        source: purchaseEvents.source,
        eventId: purchaseEvents.eventId,
        type: purchaseEvents.type,
        productId: purchaseEvents.productId,
        tier: tiers.name,
        occurredAt: purchaseEvents.occurredAt,
        receivedAt: purchaseEvents.receivedAt,
      })
      .from(purchaseEvents)
      .leftJoin(tiers, eq(tiers.id, purchaseEvents.tierId))
      .where(eq(purchaseEvents.userId, user.id))
      .orderBy(desc(purchaseEvents.occurredAt), desc(purchaseEvents.receivedAt))
      .limit(limit)
      .offset(offset),
    s.database.db.select({ n: count() }).from(purchaseEvents).where(eq(purchaseEvents.userId, user.id)),
  ])
  const totalCount = total?.n ?? 0
  return {
    data: rows,
    total_count: totalCount,
    has_more: offset + rows.length < totalCount,
    page: request.page,
    items_per_page: request.items_per_page,
  }
}
