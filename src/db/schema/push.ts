import { sql } from 'drizzle-orm'
import { check, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { sessions, users } from './accounts'

/**
 * Where a signed-in session receives pushes: at most one target per session, either an Expo
 * push token (mobile sessions) or a browser's Web Push subscription (web sessions). A target
 * belongs to its session: the migration's trigger deletes it when the session is revoked
 * (sign-out, ban, deletion, inactivity), and the foreign key when the session row goes.
 *
 * One device holds one Expo token whatever account signs in on it, so a token is unique across
 * sessions: registering it again moves it to the registering session. Likewise an endpoint.
 */
export const pushTargets = pgTable(
  'push_targets',
  {
    sessionId: uuid('session_id')
      .primaryKey()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    /** `ExponentPushToken[…]` for `expo`; the push service URL for `web`. */
    address: text('address').notNull(),
    /** Web Push only: the browser's P-256 public key and 16-byte auth secret (base64url). */
    p256dh: text('p256dh'),
    auth: text('auth'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('push_targets_address_key').on(t.address),
    index('push_targets_user_idx').on(t.userId),
    check('push_targets_kind', sql`${t.kind} in ('expo', 'web')`),
    check(
      'push_targets_web_keys',
      sql`(${t.kind} = 'web') = (${t.p256dh} is not null and ${t.auth} is not null)`,
    ),
  ],
)

/**
 * Expo push tickets awaiting their receipt: Expo accepts a message with a ticket id, and only
 * the receipt (available after delivery to Apple/Google) says whether the device is gone.
 */
export const pushTickets = pgTable(
  'push_tickets',
  {
    id: text('id').primaryKey(),
    token: text('token').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('push_tickets_created_idx').on(t.createdAt)],
)

/**
 * Notification-settings links from emails that have applied a change: a link applies one
 * frequency; repeating the same request is a no-op, a different one with the same link is
 * refused (the link was used).
 */
export const notificationLinkUses = pgTable('notification_link_uses', {
  linkId: text('link_id').primaryKey(),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  kind: text('kind').notNull(),
  frequency: text('frequency').notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }).notNull().defaultNow(),
})
