import { z } from '@hono/zod-openapi'
import { and, count, desc, eq, isNotNull, isNull, or, sql } from 'drizzle-orm'
import { profiles, searchResults, skips, users } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { type PageRequest, pageWindow } from '../../lib/http/pagination'
import { type LimitRule, enforceLimits } from '../platform/rate-limit'
import { conversationName } from '../chat/protocol'
import { lodgeReport } from './reports'
import type { Services } from '..'
import { describeError } from '../../lib/log'

/**
 * Skips (blocks) and reports. A skip hides two members from each other in every
 * direction (profiles, search, chat read `skips` both ways); a report is a skip with a reason, and
 * it goes to the moderators (src/services/moderation/reports.ts).
 */

/**
 * Report limits: at least 5 s between two reports, and 20 a day, per reporter and per client IP.
 * The burst rule has no window edge: two reports a millisecond apart never both pass.
 */
export const reportLimits: LimitRule[] = [
  { name: 'report-burst', limit: 1, periodSeconds: 5, algorithm: 'spaced' },
  { name: 'report-daily', limit: 20, periodSeconds: 86_400 },
]

export const SkipSchema = z
  .object({
    memberId: z.uuid(),
    reported: z.boolean(),
    reportReason: z.string().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi('Skip')

export const SkippedMemberSchema = SkipSchema.extend({
  name: z.string().nullable(),
  urlSlug: z.string().nullable(),
}).openapi('SkippedMember')

type Skip = z.infer<typeof SkipSchema>

const notFound = () => new ApiError('not_found', 'No such member')

/**
 * Skip `objectId` (and report them when `reportReason` is given). Idempotent: skipping again
 * changes nothing; reporting someone already skipped turns the skip into a report (a second
 * report of the same member keeps the first reason and sends nothing). Reports are rate limited
 * per reporter and per IP before anything is written. Both members leave each other's stored
 * search results.
 *
 * @example
 * const { skip, created } = await skipMember(s, me, otherId, { reportReason: 'Fake profile', ip })
 */
export async function skipMember(
  s: Services,
  subject: { userId: string },
  objectId: string,
  opts: { reportReason?: string; ip: string },
): Promise<{ skip: Skip; created: boolean; headers: Record<string, string> }> {
  const subjectId = subject.userId
  if (objectId === subjectId) {
    throw new ApiError('validation_failed', 'You cannot skip yourself', {
      errors: [{ path: 'param.memberId', message: 'is your own id' }],
    })
  }
  const { db } = s.database
  const [target] = await db
    .select({ id: users.id })
    .from(users)
    .innerJoin(profiles, eq(profiles.userId, users.id))
    .where(and(eq(users.id, objectId), isNull(users.deletedAt), isNotNull(profiles.onboardedAt)))
  if (!target) throw notFound()

  const reason = opts.reportReason
  const headers = reason
    ? (
        await enforceLimits(
          s,
          reportLimits.flatMap((rule): [LimitRule, string][] => [
            [rule, `user:${subjectId}`],
            [rule, `ip:${opts.ip}`],
          ]),
        )
      ).headers
    : {}

  const now = s.clock.now()
  // One statement decides everything: `was_reported` reads the row as it was before (CTEs see the
  // statement's snapshot), so exactly one of two racing reports is the new report.
  const before = db.$with('before').as(
    db
      .select({ reported: skips.reported })
      .from(skips)
      .where(and(eq(skips.subjectId, subjectId), eq(skips.objectId, objectId))),
  )
  const [row] = await db
    .with(before)
    .insert(skips)
    .values({
      subjectId,
      objectId,
      reported: reason !== undefined,
      reportReason: reason ?? null,
      createdAt: now,
    })
    .onConflictDoUpdate({
      target: [skips.subjectId, skips.objectId],
      set: {
        reported: sql`${skips.reported} or excluded.reported`,
        reportReason: sql`coalesce(${skips.reportReason}, excluded.report_reason)`,
      },
    })
    .returning({
      reported: skips.reported,
      reportReason: skips.reportReason,
      createdAt: skips.createdAt,
      created: sql<boolean>`(xmax = 0)`,
      wasReported: sql<boolean | null>`(select ${before.reported} from ${before})`,
    })
  await db
    .delete(searchResults)
    .where(
      or(
        and(eq(searchResults.searcherId, subjectId), eq(searchResults.prospectId, objectId)),
        and(eq(searchResults.searcherId, objectId), eq(searchResults.prospectId, subjectId)),
      ),
    )
  if (reason !== undefined && row!.wasReported !== true) {
    try {
      await lodgeReport(s, { reporterId: subjectId, accusedId: objectId, reason })
    } catch (err) {
      // Undo the report so that the client's retry lodges it again (instead of finding it done).
      const pair = and(eq(skips.subjectId, subjectId), eq(skips.objectId, objectId))
      await (row!.created
        ? db.delete(skips).where(pair)
        : db.update(skips).set({ reported: false, reportReason: null }).where(pair))
      throw err
    }
  }
  await forgetPairFacts(s, subject.userId, objectId)
  return {
    skip: {
      memberId: objectId,
      reported: row!.reported,
      reportReason: row!.reportReason,
      createdAt: row!.createdAt.toISOString(),
    },
    created: row!.created,
    headers,
  }
}

/**
 * Take back my skip of `objectId` (a report stays with the moderators). Their skip of me, if
 * any, stays: 404 when I had not skipped them.
 *
 * @example
 * await unskipMember(s, me, otherId)
 */
export async function unskipMember(
  s: Services,
  subject: { userId: string },
  objectId: string,
): Promise<void> {
  const deleted = await s.database.db
    .delete(skips)
    .where(and(eq(skips.subjectId, subject.userId), eq(skips.objectId, objectId)))
    .returning({ objectId: skips.objectId })
  if (deleted.length === 0) throw new ApiError('not_found', 'You have not skipped this member')
  await forgetPairFacts(s, subject.userId, objectId)
}

/**
 * The pair's Conversation object caches who blocks whom for a few seconds; a skip or unskip
 * takes effect in chat at once. A failure only delays it to the cache's expiry.
 */
async function forgetPairFacts(s: Services, a: string, b: string): Promise<void> {
  try {
    await s.env.CONVERSATION.getByName(conversationName(a, b)).forgetFacts()
  } catch (err) {
    s.log.warn('skips.forget_facts_failed', { error: describeError(err) })
  }
}

/**
 * The members I skipped, newest first, so a client can offer "unskip".
 *
 * @example
 * const { rows, total } = await listSkips(s, me, { page: 1, items_per_page: 10 })
 */
export async function listSkips(
  s: Services,
  subject: { userId: string },
  page: PageRequest,
): Promise<{ rows: z.infer<typeof SkippedMemberSchema>[]; total: number }> {
  const { db } = s.database
  const where = and(eq(skips.subjectId, subject.userId), isNull(users.deletedAt))
  const { limit, offset } = pageWindow(page)
  const [rows, [counted]] = await db.batch([
    db
      .select({
        memberId: skips.objectId,
        reported: skips.reported,
        reportReason: skips.reportReason,
        createdAt: skips.createdAt,
        name: users.name,
        urlSlug: profiles.urlSlug,
      })
      .from(skips)
      .innerJoin(users, eq(users.id, skips.objectId))
      .leftJoin(profiles, eq(profiles.userId, skips.objectId))
      .where(where)
      .orderBy(desc(skips.createdAt), desc(skips.objectId))
      .limit(limit)
      .offset(offset),
    db.select({ total: count() }).from(skips).innerJoin(users, eq(users.id, skips.objectId)).where(where),
  ])
  return {
    rows: rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })),
    total: counted?.total ?? 0,
  }
}
