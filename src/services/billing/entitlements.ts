import { and, asc, eq, sql } from 'drizzle-orm'
import { purchaseEvents, subscriptions, tiers, users } from '../../db/schema'
import type { TxDb } from '../../db/client'
import { forgetAccount } from '../accounts/account-cache'
import type { Services } from '..'

/**
 * Purchases move members between tiers. Each source (RevenueCat for the app stores, Stripe for
 * the web) keeps one subscription row per member; the member's tier is the tier of the row that
 * still entitles them (the one running longest when both do), and the default tier — the oldest
 * one, which sign-up gives — when none does. Tier-gated settings then fall back exactly as when
 * an admin moves a member down.
 */

export type Source = 'revenuecat' | 'stripe'
export type SubscriptionStatus = 'active' | 'cancelled' | 'billing_issue' | 'expired' | 'transferred'
type Tx = Parameters<Parameters<TxDb['transaction']>[0]>[0]

/** Statuses that entitle until `expiresAt` (null = no end known yet). */
export const entitledStatuses: SubscriptionStatus[] = ['active', 'cancelled', 'billing_issue']

/** What an event asks of one member's subscription row. */
export interface SubscriptionChange {
  status: SubscriptionStatus
  tierId?: string | null
  store?: string | null
  productId?: string | null
  externalId?: string | null
  stripeCustomerId?: string | null
  /** `undefined` keeps the stored value. */
  expiresAt?: Date | null
}

export interface RecordedEvent {
  source: Source
  eventId: string
  type: string
  occurredAt: Date
  productId?: string | null
  tierId?: string | null
  payload: unknown
}

export type Outcome = 'applied' | 'duplicate' | 'stale' | 'unknown_member'

/** Thrown inside the transaction to roll it back when the event changes nothing. */
class NothingToWrite extends Error {
  constructor(readonly outcome: Outcome) {
    super(outcome)
  }
}

/**
 * Apply one webhook event to one member in a single transaction, or write nothing:
 * - the member row is locked first, so events for one member apply one at a time, and a member
 *   who deleted their account is acknowledged without a write (`unknown_member`);
 * - the event id is recorded once per source (`duplicate` on a redelivery);
 * - an event older than the newest one applied to this member's row for this source is `stale`
 *   and never undoes it;
 * - then the row changes and the member's tier is recomputed.
 *
 * @example
 * await applySubscriptionEvent(s, userId, event, { status: 'active', tierId, expiresAt })
 */
export async function applySubscriptionEvent(
  s: Services,
  userId: string,
  event: RecordedEvent,
  change:
    SubscriptionChange | ((current: typeof subscriptions.$inferSelect | undefined) => SubscriptionChange),
  extra?: (tx: Tx) => Promise<string[]>,
): Promise<Outcome> {
  let touched: string[] = [userId]
  try {
    await s.database.transaction(async (tx) => {
      const [member] = await tx
        .execute<{ id: string }>(sql`select id from ${users} where id = ${userId} for update`)
        .then((r) => r.rows)
      if (!member) throw new NothingToWrite('unknown_member')
      const [current] = await tx
        .select()
        .from(subscriptions)
        .where(and(eq(subscriptions.userId, userId), eq(subscriptions.source, event.source)))
      if (current && current.lastEventAt.getTime() > event.occurredAt.getTime())
        throw new NothingToWrite('stale')
      const inserted = await tx
        .insert(purchaseEvents)
        .values({
          source: event.source,
          eventId: event.eventId,
          userId,
          type: event.type,
          productId: event.productId ?? null,
          tierId: event.tierId ?? null,
          occurredAt: event.occurredAt,
          payload: event.payload,
          receivedAt: s.clock.now(),
        })
        .onConflictDoNothing()
        .returning({ id: purchaseEvents.id })
      if (inserted.length === 0) throw new NothingToWrite('duplicate')
      const next = typeof change === 'function' ? change(current) : change
      const values = {
        status: next.status,
        tierId: next.tierId === undefined ? (current?.tierId ?? null) : next.tierId,
        store: next.store === undefined ? (current?.store ?? null) : next.store,
        productId: next.productId === undefined ? (current?.productId ?? null) : next.productId,
        externalId: next.externalId === undefined ? (current?.externalId ?? null) : next.externalId,
        stripeCustomerId:
          next.stripeCustomerId === undefined ? (current?.stripeCustomerId ?? null) : next.stripeCustomerId,
        expiresAt: next.expiresAt === undefined ? (current?.expiresAt ?? null) : next.expiresAt,
        lastEventAt: event.occurredAt,
        updatedAt: s.clock.now(),
      }
      await tx
        .insert(subscriptions)
        .values({ userId, source: event.source, ...values })
        .onConflictDoUpdate({ target: [subscriptions.userId, subscriptions.source], set: values })
      if (extra) touched = [...touched, ...(await extra(tx))]
      for (const id of touched) await recomputeTier(s, tx, id)
    })
  } catch (err) {
    if (err instanceof NothingToWrite) {
      s.log.info('billing.event_skipped', {
        source: event.source,
        eventId: event.eventId,
        outcome: err.outcome,
      })
      return err.outcome
    }
    throw err
  }
  await Promise.all(touched.map((id) => forgetAccount(s, id)))
  s.log.info('billing.event_applied', {
    source: event.source,
    eventId: event.eventId,
    type: event.type,
    userId,
  })
  return 'applied'
}

/**
 * Set a member's tier from their subscriptions (inside the caller's transaction). A member with
 * no subscription rows at all keeps whatever tier an admin gave them.
 */
export async function recomputeTier(s: Services, tx: Tx, userId: string): Promise<void> {
  const rows = await tx.select().from(subscriptions).where(eq(subscriptions.userId, userId))
  if (rows.length === 0) return
  const now = s.clock.now().getTime()
  const entitling = rows
    .filter(
      (r) =>
        r.tierId &&
        entitledStatuses.includes(r.status as SubscriptionStatus) &&
        (r.expiresAt === null || r.expiresAt.getTime() > now),
    )
    .sort((a, b) => (b.expiresAt?.getTime() ?? Infinity) - (a.expiresAt?.getTime() ?? Infinity))
  let tierId = entitling[0]?.tierId ?? null
  if (!tierId) {
    const [fallback] = await tx.select({ id: tiers.id }).from(tiers).orderBy(asc(tiers.createdAt)).limit(1)
    tierId = fallback?.id ?? null
  }
  await tx
    .update(users)
    .set({ tierId, updatedAt: s.clock.now() })
    .where(and(eq(users.id, userId), sql`${users.tierId} is distinct from ${tierId}`))
}

/** The tier id configured for a product/entitlement/price, if the tier exists. */
export async function tierIdByName(s: Services, name: string | undefined): Promise<string | null> {
  if (!name) return null
  const [row] = await s.database.db.select({ id: tiers.id }).from(tiers).where(eq(tiers.name, name))
  if (!row) s.log.error('billing.unknown_tier', { tier: name })
  return row?.id ?? null
}

/**
 * Return members whose paid access ran out without a closing event (a cancellation that reached
 * its end, a grace period that ended) to their right tier. Bounded per run; the cron calls it.
 *
 * @example
 * const { expired } = await expireLapsedSubscriptions(s)
 */
export async function expireLapsedSubscriptions(s: Services, limit = 500): Promise<{ expired: number }> {
  const lapsed = await s.database.db
    .select({ userId: subscriptions.userId, source: subscriptions.source })
    .from(subscriptions)
    .where(
      and(
        sql`${subscriptions.status} in ('active', 'cancelled', 'billing_issue')`,
        sql`${subscriptions.expiresAt} <= ${s.clock.now()}`,
      ),
    )
    .limit(limit)
  for (const row of lapsed) {
    await s.database.transaction(async (tx) => {
      await tx.execute(sql`select id from ${users} where id = ${row.userId} for update`)
      await tx
        .update(subscriptions)
        .set({ status: 'expired', updatedAt: s.clock.now() })
        .where(
          and(
            eq(subscriptions.userId, row.userId),
            eq(subscriptions.source, row.source),
            sql`${subscriptions.expiresAt} <= ${s.clock.now()}`,
          ),
        )
      await recomputeTier(s, tx, row.userId)
    })
    await forgetAccount(s, row.userId)
  }
  if (lapsed.length) s.log.info('billing.lapsed_expired', { count: lapsed.length })
  return { expired: lapsed.length }
}
