import { sql } from 'drizzle-orm'
import {
  boolean,
  check,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core'
import { users } from './accounts'
import { questions } from './personality'
import { memberPair } from './profiles'

/**
 * Discovery: search filters on answers, the per-searcher result list, clubs, visits and the
 * capability tokens behind moderators' one-click links.
 */

/** "Only people who answered `question` with `answer` (or, if accepted, did not answer it)". */
export const searchAnswerFilters = pgTable(
  'search_answer_filters',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    questionId: smallint('question_id')
      .notNull()
      .references(() => questions.id),
    answer: boolean('answer').notNull(),
    acceptUnanswered: boolean('accept_unanswered').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.questionId] })],
)

/**
 * A searcher's result list, built by the first page of a search (at most 500 rows, `position`
 * 1…n in display order) and paged by the following requests. Rebuilt, never updated; skips
 * delete the pair's rows. Disposable, so the table is UNLOGGED (migration 0009).
 */
export const searchResults = pgTable(
  'search_results',
  {
    searcherId: uuid('searcher_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    position: smallint('position').notNull(),
    prospectId: uuid('prospect_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    matchPercentage: smallint('match_percentage').notNull(),
    builtAt: timestamp('built_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.searcherId, t.position] }),
    index('search_results_prospect_idx').on(t.prospectId),
  ],
)

/**
 * Clubs: lower-cased names, created by the first member who joins. `member_count` counts
 * active members and is kept by triggers on `member_clubs` and `users.status`.
 */
export const clubs = pgTable(
  'clubs',
  {
    name: text('name').primaryKey(),
    memberCount: integer('member_count').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('clubs_name_trgm_idx').using('gin', sql`${t.name} gin_trgm_ops`),
    index('clubs_member_count_idx').on(t.memberCount.desc()),
    check('clubs_name', sql`char_length(${t.name}) between 1 and 42 and ${t.name} = lower(${t.name})`),
    check('clubs_member_count', sql`${t.memberCount} >= 0`),
  ],
)

export const memberClubs = pgTable(
  'member_clubs',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    clubName: text('club_name')
      .notNull()
      .references(() => clubs.name, { onDelete: 'cascade' }),
    joinedAt: timestamp('joined_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.clubName] }),
    index('member_clubs_club_idx').on(t.clubName, t.userId),
  ],
)

/** Names no club may take (matched by trigram word similarity, not only exactly). */
export const bannedClubs = pgTable('banned_clubs', {
  name: text('name').primaryKey(),
})

/**
 * `subject` viewed `object`'s profile. One row per pair, `updated_at` is the latest visit;
 * `invisible` visits (browsing invisibly) are kept for the visitor's own list only.
 */
export const visits = pgTable(
  'visits',
  {
    ...memberPair(),
    invisible: boolean('invisible').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.subjectId, t.objectId] }),
    index('visits_object_updated_idx').on(t.objectId, t.updatedAt.desc()),
    index('visits_subject_updated_idx').on(t.subjectId, t.updatedAt.desc()),
  ],
)

export const moderationAction = pgEnum('moderation_action', ['ban', 'delete-photo'])

/**
 * The capability behind a link in a moderator's report email: one action on one member (or one
 * photo), usable once, until `expires_at` (a month). The link carries the id and an HMAC of it.
 */
export const moderationTokens = pgTable(
  'moderation_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    action: moderationAction('action').notNull(),
    targetUserId: uuid('target_user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    photoId: text('photo_id'),
    reporterId: uuid('reporter_id').references(() => users.id, { onDelete: 'set null' }),
    reason: text('reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [
    index('moderation_tokens_expires_idx').on(t.expiresAt),
    check('moderation_tokens_photo', sql`(${t.action} = 'delete-photo') = (${t.photoId} is not null)`),
  ],
)
