import { sql } from 'drizzle-orm'
import { bigserial, cidr, index, integer, pgEnum, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { users } from './accounts'

/**
 * The activity feed's events and the IP reputation lists checked at sign-in.
 */

/** What a member did; "joined" and "recently online" need no row (see `profiles.last_event_*`). */
export const feedEventKindValues = ['added-photo', 'added-voice-bio', 'updated-bio'] as const
export const feedEventKind = pgEnum('feed_event_kind', feedEventKindValues)

/**
 * A member's recent feed events (the last 20 are kept). Photo and voice-bio events name their
 * object, so deleting the photo or recording deletes the event, and the member's feed entry falls
 * back to the event before it (triggers in the migration).
 */
export const feedEvents = pgTable(
  'feed_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: feedEventKind('kind').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    photoId: text('photo_id'),
    voiceBioId: text('voice_bio_id'),
    /** For `updated-bio`: the text the update added. */
    addedText: text('added_text'),
  },
  (t) => [
    index('feed_events_user_idx').on(t.userId, t.id),
    index('feed_events_photo_idx')
      .on(t.photoId)
      .where(sql`${t.photoId} is not null`),
    index('feed_events_voice_bio_idx')
      .on(t.voiceBioId)
      .where(sql`${t.voiceBioId} is not null`),
  ],
)

/**
 * Address ranges from the configured IP reputation lists (IPv4 and IPv6 CIDR), replaced list by
 * list by the refresh cron. The GiST index answers "which range contains this address" in one
 * index probe.
 */
export const ipReputationRanges = pgTable(
  'ip_reputation_ranges',
  {
    list: text('list').notNull(),
    range: cidr('range').notNull(),
  },
  (t) => [index('ip_reputation_ranges_range_idx').using('gist', sql`${t.range} inet_ops`)],
)

/** One row per configured list: what the last refresh loaded. */
export const ipReputationLists = pgTable('ip_reputation_lists', {
  name: text('name').primaryKey(),
  url: text('url').notNull(),
  /** SHA-256 of the last body loaded: an unchanged list is not rewritten. */
  contentHash: text('content_hash').notNull(),
  ranges: integer('ranges').notNull(),
  refreshedAt: timestamp('refreshed_at', { withTimezone: true }).notNull().defaultNow(),
})
