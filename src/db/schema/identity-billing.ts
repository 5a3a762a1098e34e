import { sql } from 'drizzle-orm'
import { check, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { tiers, users } from './accounts'

/**
 * A Google or Apple account linked to a member: `(provider, subject)` is the provider's stable id
 * for the person (`sub`), so a changed email at the provider keeps the link.
 */
export const socialIdentities = pgTable(
  'social_identities',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    subject: text('subject').notNull(),
    /** The email the provider last reported (an Apple private-relay address counts like any other). */
    email: text('email'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('social_identities_provider_subject_key').on(t.provider, t.subject),
    uniqueIndex('social_identities_user_provider_key').on(t.userId, t.provider),
    check('social_identities_provider', sql`${t.provider} in ('google', 'apple')`),
  ],
)

/**
 * A member's paid access from one source (RevenueCat for the app stores, Stripe for the web).
 * The member's tier follows from the rows that still entitle them; `lastEventAt` is the newest
 * event applied, so a late delivery of an older event cannot undo a newer one.
 */
export const subscriptions = pgTable(
  'subscriptions',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    source: text('source').notNull(),
    tierId: uuid('tier_id').references(() => tiers.id, { onDelete: 'set null' }),
    /** `active`, `cancelled` (no renewal; entitled until `expiresAt`), `billing_issue`, `expired`. */
    status: text('status').notNull(),
    /** App Store, Play Store, Stripe… as the source names it (`APP_STORE`, `PLAY_STORE`, `stripe`). */
    store: text('store'),
    productId: text('product_id'),
    /** Stripe subscription id, for the portal and for matching later events. */
    externalId: text('external_id'),
    stripeCustomerId: text('stripe_customer_id'),
    /** Entitled until then (renewal date, end of grace, or cancellation's end); null = no end known. */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    lastEventAt: timestamp('last_event_at', { withTimezone: true, precision: 3 }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('subscriptions_user_source_key').on(t.userId, t.source),
    index('subscriptions_stripe_customer_idx').on(t.stripeCustomerId),
    index('subscriptions_expires_idx').on(t.expiresAt),
    check('subscriptions_source', sql`${t.source} in ('revenuecat', 'stripe')`),
    check(
      'subscriptions_status',
      sql`${t.status} in ('active', 'cancelled', 'billing_issue', 'expired', 'transferred')`,
    ),
  ],
)

/**
 * Every applied purchase webhook, once per (source, event id): the idempotency record and the
 * purchase history admins read. Events that change nothing (duplicates, stale, unknown members)
 * are not stored.
 */
export const purchaseEvents = pgTable(
  'purchase_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    source: text('source').notNull(),
    eventId: text('event_id').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    productId: text('product_id'),
    tierId: uuid('tier_id').references(() => tiers.id, { onDelete: 'set null' }),
    /** When the source says the event happened (ms precision; RevenueCat sends milliseconds). */
    occurredAt: timestamp('occurred_at', { withTimezone: true, precision: 3 }).notNull(),
    payload: jsonb('payload').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('purchase_events_source_event_key').on(t.source, t.eventId),
    index('purchase_events_user_idx').on(t.userId, t.occurredAt),
  ],
)
