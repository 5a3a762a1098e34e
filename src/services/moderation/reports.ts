import { z } from '@hono/zod-openapi'
import { and, asc, count, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import { messaged, moderationTokens, photos, profiles, skips, tiers, users } from '../../db/schema'
import { type PageRequest, pageWindow } from '../../lib/http/pagination'
import { day } from '../accounts/account'
import { enqueueJob } from '../platform/jobs'
import { moderationTokenTtlMs } from './moderation-links'
import { reportEmailJobType } from './report-email'
import type { Services } from '..'

/**
 * Reports: lodging one (its moderation links, the email job, the automatic rules) and the
 * operators' list of them.
 * - bot-like reasons from trusted reporters make the accused verify; two from established
 *   reporters shadow-ban them (members on a paying tier are exempt).
 */

/** Report reasons that mean "this is a bot", with word boundaries so "both" or "bottle" do not count. */
export const botReasonPattern =
  /\b(?:fake|catfish\w*|scam\w*|spam\w*|bots?|clankers?|not real|impersonat\w*|ai[- ]generated)\b/i

// ---------------------------------------------------------------------------------------------
// Lodging a report

/**
 * What follows a new report (the skip row is already written): the moderation links, the
 * automatic rules, and the email job.
 *
 * @example
 * await lodgeReport(s, { reporterId, accusedId, reason: 'Fake profile' })
 */
export async function lodgeReport(
  s: Services,
  report: { reporterId: string; accusedId: string; reason: string },
): Promise<void> {
  const { db } = s.database
  const now = s.clock.now()
  const expiresAt = new Date(now.getTime() + moderationTokenTtlMs)
  const memberPhotos = await db
    .select({ id: photos.id, userId: photos.userId })
    .from(photos)
    .where(and(inArray(photos.userId, [report.accusedId, report.reporterId]), gt(photos.position, 0)))
    .orderBy(asc(photos.position))
  const base = { reporterId: report.reporterId, createdAt: now, expiresAt }
  const tokens = await db
    .insert(moderationTokens)
    .values([
      { ...base, action: 'ban', targetUserId: report.accusedId, reason: report.reason },
      {
        ...base,
        action: 'ban',
        targetUserId: report.reporterId,
        reason: `Filed the report: ${report.reason}`,
      },
      ...memberPhotos.map((p) => ({
        ...base,
        action: 'delete-photo' as const,
        targetUserId: p.userId,
        photoId: p.id,
        reason: report.reason,
      })),
    ])
    .returning({ id: moderationTokens.id })
  if (s.config.moderation.reportEmails.length === 0) {
    s.log.warn('moderation.report_not_emailed', {
      reason: 'REPORT_EMAILS is empty',
      accusedId: report.accusedId,
    })
  } else {
    try {
      await enqueueJob(s, {
        type: reportEmailJobType,
        payload: { ...report, tokenIds: tokens.map((t) => t.id) },
      })
    } catch (err) {
      // The caller undoes the report; its links (never mailed) go too, and the automatic rules
      // below never saw it, so a report that did not happen leaves nothing behind.
      const ids = tokens.map((t) => t.id)
      if (ids.length) await db.delete(moderationTokens).where(inArray(moderationTokens.id, ids))
      throw err
    }
  }
  await applyBotRules(s, report)
}

/** Account age ≥ 30 days, photo-verified (or an operator): their bot reports make people verify. */
async function applyBotRules(s: Services, report: { reporterId: string; accusedId: string; reason: string }) {
  if (!botReasonPattern.test(report.reason)) return
  const { db } = s.database
  const monthAgo = new Date(s.clock.now().getTime() - 30 * day)
  const [reporter] = await db
    .select({ role: users.role, createdAt: users.createdAt, level: profiles.verificationLevel })
    .from(users)
    .leftJoin(profiles, eq(profiles.userId, users.id))
    .where(eq(users.id, report.reporterId))
  const trusted =
    reporter !== undefined &&
    (reporter.role === 'admin' ||
      reporter.role === 'moderator' ||
      (reporter.createdAt <= monthAgo && reporter.level === 'photos'))
  if (trusted) {
    await db
      .update(profiles)
      .set({ verificationRequired: true, updatedAt: s.clock.now() })
      .where(eq(profiles.userId, report.accusedId))
  }

  // Reports against the accused from established reporters: old enough, a real bio, answers,
  // conversations, and not shadow-banned themselves.
  const reports = await db
    .select({ reason: skips.reportReason })
    .from(skips)
    .innerJoin(users, eq(users.id, skips.subjectId))
    .innerJoin(profiles, eq(profiles.userId, skips.subjectId))
    .where(
      and(
        eq(skips.objectId, report.accusedId),
        eq(skips.reported, true),
        sql`${users.createdAt} <= ${monthAgo}`,
        sql`char_length(coalesce(${profiles.about}, '')) >= 10`,
        sql`${profiles.answerCount} >= 10`,
        isNull(profiles.shadowBannedAt),
        sql`(select count(*) from ${messaged} where ${messaged.subjectId} = ${skips.subjectId}) >= 5`,
      ),
    )
    .limit(1000)
  if (reports.filter((r) => botReasonPattern.test(r.reason ?? '')).length < 2) return
  const banned = await db
    .update(profiles)
    .set({ shadowBannedAt: s.clock.now() })
    .where(
      and(
        eq(profiles.userId, report.accusedId),
        isNull(profiles.shadowBannedAt),
        // Operators are never shadow-banned, nor members whose tier unlocks anything (paying).
        sql`exists (select 1 from ${users} where ${users.id} = ${profiles.userId} and ${users.role} = 'member'
          and not exists (select 1 from ${tiers} where ${tiers.id} = ${users.tierId} and ${tiers.features} <> '{}'::jsonb))`,
      ),
    )
    .returning({ userId: profiles.userId })
  if (banned.length) s.log.info('moderation.auto_shadow_ban', { userId: report.accusedId })
}

export const ReportSchema = z
  .object({
    reporter: z.object({ id: z.uuid(), name: z.string().nullable(), email: z.string() }),
    accused: z.object({
      id: z.uuid(),
      name: z.string().nullable(),
      email: z.string(),
      shadowBannedAt: z.iso.datetime().nullable(),
      verificationRequired: z.boolean(),
      reportCount: z.number().int().openapi({ description: 'Reports against the accused, from anyone' }),
    }),
    reason: z.string(),
    createdAt: z.iso.datetime(),
  })
  .openapi('Report')
export type Report = z.infer<typeof ReportSchema>

/**
 * Reports, newest first.
 *
 * @example
 * const { rows, total } = await listReports(s, { page: 1, items_per_page: 20 })
 */
export async function listReports(
  s: Services,
  page: PageRequest,
): Promise<{ rows: Report[]; total: number }> {
  const { db } = s.database
  const reporter = alias(users, 'reporter')
  const accused = alias(users, 'accused')
  const { limit, offset } = pageWindow(page)
  const [rows, [counted]] = await db.batch([
    db
      .select({
        reporterId: reporter.id,
        reporterName: reporter.name,
        reporterEmail: reporter.emailDisplay,
        accusedId: accused.id,
        accusedName: accused.name,
        accusedEmail: accused.emailDisplay,
        shadowBannedAt: profiles.shadowBannedAt,
        verificationRequired: profiles.verificationRequired,
        reason: skips.reportReason,
        createdAt: skips.createdAt,
        reportCount: sql<number>`(select count(*)::int from ${skips} s2 where s2.object_id = ${skips.objectId} and s2.reported)`,
      })
      .from(skips)
      .innerJoin(reporter, eq(reporter.id, skips.subjectId))
      .innerJoin(accused, eq(accused.id, skips.objectId))
      .leftJoin(profiles, eq(profiles.userId, skips.objectId))
      .where(eq(skips.reported, true))
      .orderBy(desc(skips.createdAt), asc(skips.subjectId), asc(skips.objectId))
      .limit(limit)
      .offset(offset),
    db.select({ total: count() }).from(skips).where(eq(skips.reported, true)),
  ])
  return {
    rows: rows.map((r) => ({
      reporter: { id: r.reporterId, name: r.reporterName, email: r.reporterEmail },
      accused: {
        id: r.accusedId,
        name: r.accusedName,
        email: r.accusedEmail,
        shadowBannedAt: r.shadowBannedAt?.toISOString() ?? null,
        verificationRequired: r.verificationRequired ?? false,
        reportCount: Number(r.reportCount),
      },
      reason: r.reason ?? '',
      createdAt: r.createdAt.toISOString(),
    })),
    total: counted?.total ?? 0,
  }
}
