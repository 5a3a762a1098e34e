import { sql } from 'drizzle-orm'
import { check, index, integer, jsonb, pgEnum, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { users } from './accounts'

export const jobStatus = pgEnum('job_status', ['queued', 'running', 'succeeded', 'failed', 'dead'])

/**
 * Background jobs run through the JOBS queue. The queue carries only the job id and type; this
 * row is the source of truth for status, attempts and results, so a job's owner can poll it and
 * redelivered messages (Queues deliver at least once) can see that the work is already done.
 */
export const jobs = pgTable(
  'jobs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ownerId: uuid('owner_id').references(() => users.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    status: jobStatus('status').notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    payload: jsonb('payload')
      .notNull()
      .default(sql`'{}'::jsonb`),
    result: jsonb('result'),
    error: text('error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    index('jobs_owner_created_idx').on(t.ownerId, t.createdAt),
    index('jobs_status_updated_idx').on(t.status, t.updatedAt),
    check('jobs_attempts_nonnegative', sql`${t.attempts} >= 0`),
  ],
)
