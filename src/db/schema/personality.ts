import { sql } from 'drizzle-orm'
import {
  boolean,
  check,
  index,
  integer,
  pgTable,
  primaryKey,
  real,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'
import { users } from './accounts'

/**
 * The personality question bank and members' answers (docs/personality.md). `traits` and
 * `questions` are reference data loaded from scripts/personality-data.ts by the migrate step
 * (scripts/seed-personality.ts); members' sums and vectors live on `profiles`.
 */

/** One row per trait; `position` is the trait's dimension in every presence/absence array and vector. */
export const traits = pgTable(
  'traits',
  {
    position: smallint('position').primaryKey(),
    key: text('key').notNull(),
    name: text('name').notNull(),
    minLabel: text('min_label').notNull(),
    maxLabel: text('max_label').notNull(),
    description: text('description').notNull(),
    topic: text('topic').notNull(),
  },
  (t) => [uniqueIndex('traits_key_key').on(t.key), check('traits_position', sql`${t.position} >= 0`)],
)

/**
 * Yes/no questions. The four arrays hold, per trait position, what a "yes" or a "no" adds to a
 * member's presence and absence sums. `count_yes`/`count_no` count current answers. A retired
 * question is no longer offered but its stored answers still count.
 */
export const questions = pgTable(
  'questions',
  {
    id: smallint('id').primaryKey(),
    text: text('text').notNull(),
    topic: text('topic').notNull(),
    presenceGivenYes: real('presence_given_yes').array().notNull(),
    absenceGivenYes: real('absence_given_yes').array().notNull(),
    presenceGivenNo: real('presence_given_no').array().notNull(),
    absenceGivenNo: real('absence_given_no').array().notNull(),
    countYes: integer('count_yes').notNull().default(0),
    countNo: integer('count_no').notNull().default(0),
    retired: boolean('retired').notNull().default(false),
  },
  (t) => [
    // For the Q&A search filter's question search (fuzzy, case-insensitive).
    index('questions_text_trgm_idx').using('gin', sql`lower(${t.text}) gin_trgm_ops`),
    check('questions_id', sql`${t.id} > 0`),
    check('questions_topic', sql`${t.topic} in ('values', 'sex', 'interpersonal', 'other')`),
    check('questions_counts', sql`${t.countYes} >= 0 and ${t.countNo} >= 0`),
  ],
)

/** A member's answer to a question; `answer` null = skipped (kept so it is not offered again). */
export const answers = pgTable(
  'answers',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    questionId: smallint('question_id')
      .notNull()
      .references(() => questions.id),
    answer: boolean('answer'),
    isPublic: boolean('is_public').notNull().default(false),
    answeredAt: timestamp('answered_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.questionId] }), index('answers_question_idx').on(t.questionId)],
)
