import { z } from '@hono/zod-openapi'
import { and, asc, count, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import {
  bannedPhotoHashes,
  messaged,
  messages,
  moderationTokens,
  photos,
  places,
  profiles,
  skips,
  tiers,
  users,
} from '../../db/schema'
import { deleteBounded } from '../../db/bounded-delete'
import { hmacHex, timingSafeEqualStrings } from '../../lib/crypto'
import { ApiError } from '../../lib/http/errors'
import { ageOn } from '../search/geo'
import { escapeHtml } from '../../lib/http/html'
import { mediaUrl } from '../media/media-url'
import { type PageRequest, pageWindow } from '../../lib/http/pagination'
import type { Role } from '../accounts/tokens'
import { type Ban, createBan, findActiveBan, liftBan } from './bans'
import { type JobContext, PermanentJobError, enqueueJob } from '../platform/jobs'
import { sendMail } from '../platform/mail'
import { deletePhoto } from '../media/photos'
import type { Services } from '..'

/**
 * Reports and what moderators do about them :
 * - every report emails one moderator (REPORT_EMAILS, weighted) through the jobs queue, with both
 *   members' details, their photos, the last 25 messages between them and signed single-use links
 *   (ban either member, delete any photo) valid for a month;
 * - bot-like reasons from trusted reporters make the accused verify; two from established
 *   reporters shadow-ban them (members on a paying tier are exempt);
 * - operators list reports, ban, unban, shadow-ban and delete photos through admin routes.
 */

const day = 86_400_000
/** Moderation links, last a month, long enough for a moderator's backlog. */
export const moderationTokenTtlMs = 30 * day
export const reportEmailJobType = 'moderation.report-email'
export const reportMessageCount = 25

/** Report reasons that mean "this is a bot", with word boundaries so "both" or "bottle" do not count. */
export const botReasonPattern =
  /\b(?:fake|catfish\w*|scam\w*|spam\w*|bots?|clankers?|not real|impersonat\w*|ai[- ]generated)\b/i

type TokenRow = typeof moderationTokens.$inferSelect

// ---------------------------------------------------------------------------------------------
// Lodging a report

/**
 * Draw one moderator address, each with probability weight / total weight.
 *
 * @example
 * pickReportRecipient([{ address: 'a@x.org', weight: 3 }, { address: 'b@x.org', weight: 1 }]) // a 3 times in 4
 */
export function pickReportRecipient(
  recipients: { address: string; weight: number }[],
  random = Math.random(),
): string | null {
  const total = recipients.reduce((sum, r) => sum + r.weight, 0)
  let at = random * total
  for (const r of recipients) {
    at -= r.weight
    if (at < 0) return r.address
  }
  return recipients.at(-1)?.address ?? null
}

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

// ---------------------------------------------------------------------------------------------
// Signed links

const linkPattern = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([0-9a-f]{64})$/

const signature = (s: Services, id: string) => hmacHex(s.config.jwt.secret, `moderation:${id}`)

/** The path segment of a moderation link: the token id and its HMAC under the server secret. */
export async function signModerationToken(s: Services, id: string): Promise<string> {
  return `${id}.${await signature(s, id)}`
}

/** The row behind a link; anything unsigned, mis-signed or unknown is a 404. */
async function resolveLink(s: Services, link: string): Promise<TokenRow> {
  const match = linkPattern.exec(link)
  const notFound = new ApiError('not_found', 'No such moderation link')
  if (!match || !timingSafeEqualStrings(match[2]!, await signature(s, match[1]!))) throw notFound
  const [row] = await s.database.db.select().from(moderationTokens).where(eq(moderationTokens.id, match[1]!))
  if (!row) throw notFound
  return row
}

function refuseSpent(row: TokenRow, now: Date): void {
  if (row.usedAt) throw new ApiError('link_used', `This link was already used at ${row.usedAt.toISOString()}`)
  if (row.expiresAt <= now)
    throw new ApiError('link_expired', `This link expired at ${row.expiresAt.toISOString()}`)
}

export const ModerationLinkSchema = z
  .object({
    action: z.enum(['ban', 'delete-photo']),
    member: z.object({ id: z.uuid(), name: z.string().nullable(), email: z.string() }),
    photo: z.object({ id: z.string(), url: z.url() }).nullable(),
    reason: z.string().nullable(),
    expiresAt: z.iso.datetime(),
  })
  .openapi('ModerationLink')
export type ModerationLink = z.infer<typeof ModerationLinkSchema>

/**
 * What a link would do, without doing it (mail scanners fetch links; only POST acts). Used or
 * expired links answer 409 `link_used` / 410 `link_expired`.
 *
 * @example
 * const link = await describeModerationLink(s, token)
 */
export async function describeModerationLink(s: Services, link: string): Promise<ModerationLink> {
  const row = await resolveLink(s, link)
  refuseSpent(row, s.clock.now())
  const [member] = await s.database.db
    .select({ id: users.id, name: users.name, email: users.emailDisplay })
    .from(users)
    .where(eq(users.id, row.targetUserId))
  return {
    action: row.action,
    member: member!,
    photo: row.photoId
      ? { id: row.photoId, url: mediaUrl(s.config, 'images', `900-${row.photoId}.jpg`) }
      : null,
    reason: row.reason,
    expiresAt: row.expiresAt.toISOString(),
  }
}

/** Bans made through an emailed link have no operator account behind them (`createdBy` null). */
const linkActor = { userId: null, role: 'moderator' as Role }

/**
 * Do what a link says, once: the token is claimed by one conditional UPDATE (a second use, even a
 * concurrent one, is 409 `link_used`), and released again if the action fails so it can be retried.
 *
 * @example
 * const result = await useModerationLink(s, token)
 */
export async function useModerationLink(
  s: Services,
  link: string,
): Promise<{ action: TokenRow['action']; memberId: string; banId?: string; photoId?: string }> {
  const row = await resolveLink(s, link)
  const now = s.clock.now()
  const { db } = s.database
  const [claimed] = await db
    .update(moderationTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(moderationTokens.id, row.id),
        isNull(moderationTokens.usedAt),
        gt(moderationTokens.expiresAt, now),
      ),
    )
    .returning()
  if (!claimed) {
    const [current] = await db.select().from(moderationTokens).where(eq(moderationTokens.id, row.id))
    refuseSpent(current ?? { ...row, usedAt: now }, now)
    throw new ApiError('link_used', 'This link was already used')
  }
  try {
    if (row.action === 'delete-photo') {
      await banAndDeletePhoto(s, row.photoId!)
      s.log.info('moderation.link_used', { tokenId: row.id, action: row.action, photoId: row.photoId })
      return { action: row.action, memberId: row.targetUserId, photoId: row.photoId! }
    }
    const ban = await banMember(s, row.targetUserId, { reason: row.reason ?? 'Reported' }, linkActor)
    s.log.info('moderation.link_used', { tokenId: row.id, action: row.action, banId: ban.ban.id })
    return { action: row.action, memberId: row.targetUserId, banId: ban.ban.id }
  } catch (err) {
    await db.update(moderationTokens).set({ usedAt: null }).where(eq(moderationTokens.id, row.id))
    throw err
  }
}

/**
 * Delete moderation tokens past their expiry, at most `batchSize` (garbage-collection cron).
 *
 * @example
 * const n = await purgeExpiredModerationTokens(s, { batchSize: 5000 })
 */
export async function purgeExpiredModerationTokens(
  s: Services,
  opts: { batchSize: number },
): Promise<number> {
  return deleteBounded(
    s.database.db,
    moderationTokens,
    moderationTokens.id,
    sql`${moderationTokens.expiresAt} < ${s.clock.now()}`,
    opts.batchSize,
  )
}

// ---------------------------------------------------------------------------------------------
// Actions (links and admin routes)

/** A live member (not an operator, not deleted) by id, or 404 / 403. */
async function targetMember(s: Services, memberId: string) {
  const [row] = await s.database.db
    .select({ id: users.id, email: users.email, role: users.role, shadowBannedAt: profiles.shadowBannedAt })
    .from(users)
    .leftJoin(profiles, eq(profiles.userId, users.id))
    .where(and(eq(users.id, memberId), isNull(users.deletedAt)))
  if (!row) throw new ApiError('not_found', 'No such member')
  return row
}

/**
 * Ban a member's email (a month by default) with the bans service, which ends their sessions.
 * The reasons of every report against them are appended. 409 when a ban is already in force.
 *
 * @example
 * const { ban } = await banMember(s, memberId, { reason: 'Spam', days: 30 }, caller)
 */
export async function banMember(
  s: Services,
  memberId: string,
  input: { reason: string; days?: number },
  actor: { userId: string | null; role: Role },
): Promise<{ ban: Ban; revokedSessions: number }> {
  const member = await targetMember(s, memberId)
  const reports = await s.database.db
    .select({ reason: skips.reportReason })
    .from(skips)
    .where(and(eq(skips.objectId, memberId), eq(skips.reported, true)))
    .orderBy(desc(skips.createdAt))
    .limit(20)
  const reasons = [input.reason, ...reports.map((r) => `reported: ${r.reason}`)].filter(
    (r, i, all) => all.indexOf(r) === i,
  )
  const now = s.clock.now()
  const expiresAt = new Date(now.getTime() + (input.days ?? 30) * day)
  const result = await createBan(
    s,
    { kind: 'email', value: member.email, reason: reasons.join(' | ').slice(0, 2000), expiresAt },
    actor,
  )
  // A banned member disappears from search, profiles, chat and club counts at once; signing in
  // again after the ban ends reactivates them, as after any deactivation but an operator's.
  await s.database.db
    .update(users)
    .set({ status: 'deactivated', deactivatedAt: now, deactivationReason: 'banned', updatedAt: now })
    .where(and(eq(users.id, memberId), eq(users.status, 'active')))
  return result
}

/**
 * Lift every active email ban on a member; how many were lifted (404 when none was in force).
 *
 * @example
 * const lifted = await unbanMember(s, memberId)
 */
export async function unbanMember(s: Services, memberId: string): Promise<number> {
  const member = await targetMember(s, memberId)
  let lifted = 0
  // Bans on one value are created one at a time (409 on a second), so this loop is short.
  for (let ban = await findActiveBan(s, { email: member.email }); ban && lifted < 50;) {
    await liftBan(s, ban.id)
    lifted += 1
    ban = await findActiveBan(s, { email: member.email })
  }
  if (lifted === 0) throw new ApiError('not_found', 'This member is not banned')
  return lifted
}

/**
 * Shadow-ban (`on`) or restore a member. Idempotent; the first ban time is kept. Operators cannot
 * be shadow-banned (403).
 *
 * @example
 * const { shadowBannedAt } = await setShadowBan(s, memberId, true)
 */
export async function setShadowBan(
  s: Services,
  memberId: string,
  on: boolean,
): Promise<{ memberId: string; shadowBannedAt: string | null }> {
  const member = await targetMember(s, memberId)
  if (member.role !== 'member') throw new ApiError('forbidden', 'Operators cannot be shadow-banned')
  const [row] = await s.database.db
    .update(profiles)
    .set({ shadowBannedAt: on ? sql`coalesce(${profiles.shadowBannedAt}, ${s.clock.now()})` : null })
    .where(eq(profiles.userId, memberId))
    .returning({ shadowBannedAt: profiles.shadowBannedAt })
  if (!row) throw new ApiError('not_found', 'This member has no profile')
  return { memberId, shadowBannedAt: row.shadowBannedAt?.toISOString() ?? null }
}

/**
 * Delete a photo as a moderator: its SHA-256 is banned first (so the same file cannot come back),
 * then the photo goes through the photos service (R2 objects queued, verification recomputed).
 *
 * @example
 * await banAndDeletePhoto(s, photoId)
 */
export async function banAndDeletePhoto(s: Services, photoId: string): Promise<void> {
  const [photo] = await s.database.db
    .select({ userId: photos.userId, position: photos.position, hash: photos.contentHash })
    .from(photos)
    .where(eq(photos.id, photoId))
  if (!photo) throw new ApiError('not_found', 'No such photo (it may have been deleted already)')
  await s.database.db.insert(bannedPhotoHashes).values({ hash: photo.hash }).onConflictDoNothing()
  await deletePhoto(s, photo.userId, photo.position)
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

// ---------------------------------------------------------------------------------------------
// The report email (a job, so SMTP trouble is retried instead of failing the report)

const ReportJobSchema = z.object({
  reporterId: z.uuid(),
  accusedId: z.uuid(),
  reason: z.string(),
  tokenIds: z.array(z.uuid()),
})

async function memberDossier(s: Services, id: string) {
  const [m] = await s.database.db
    .select({
      id: users.id,
      name: users.name,
      email: users.emailDisplay,
      role: users.role,
      status: users.status,
      createdAt: users.createdAt,
      dateOfBirth: profiles.dateOfBirth,
      place: places.label,
      about: profiles.about,
      level: profiles.verificationLevel,
      verificationRequired: profiles.verificationRequired,
      shadowBannedAt: profiles.shadowBannedAt,
    })
    .from(users)
    .leftJoin(profiles, eq(profiles.userId, users.id))
    .leftJoin(places, eq(places.id, profiles.placeId))
    .where(eq(users.id, id))
  return m
}

/**
 * The moderators' email for one report: both members, photo links each with its delete link,
 * ban links for both, and the last {@link reportMessageCount} messages between them, oldest first.
 */
export async function reportEmail(
  s: Services,
  report: z.infer<typeof ReportJobSchema>,
): Promise<{ subject: string; text: string; html: string } | null> {
  const { db } = s.database
  const [reporter, accused] = await Promise.all([
    memberDossier(s, report.reporterId),
    memberDossier(s, report.accusedId),
  ])
  if (!reporter || !accused) return null
  const tokens = report.tokenIds.length
    ? await db.select().from(moderationTokens).where(inArray(moderationTokens.id, report.tokenIds))
    : []
  const link = async (t: TokenRow) =>
    `${s.config.publicUrl}/api/v1/moderation/${await signModerationToken(s, t.id)}`
  const [a, b] = [report.reporterId, report.accusedId].sort() as [string, string]
  const recent = await db
    .select({
      senderId: messages.senderId,
      body: messages.body,
      audio: messages.audioKey,
      at: messages.createdAt,
    })
    .from(messages)
    .where(and(eq(messages.memberA, a), eq(messages.memberB, b)))
    .orderBy(desc(messages.seq))
    .limit(reportMessageCount)
  const now = s.clock.now()

  const section = async (title: string, m: NonNullable<typeof reporter>) => {
    const banToken = tokens.find((t) => t.action === 'ban' && t.targetUserId === m.id)
    const photoLines = await Promise.all(
      tokens
        .filter((t) => t.action === 'delete-photo' && t.targetUserId === m.id)
        .map(
          async (t) =>
            `  ${mediaUrl(s.config, 'images', `900-${t.photoId}.jpg`)}\n    delete this photo: ${await link(t)}`,
        ),
    )
    return [
      `== ${title} ==`,
      `id: ${m.id}`,
      `name: ${m.name ?? '(none)'}`,
      `email: ${m.email}`,
      `role: ${m.role}, status: ${m.status}`,
      `age: ${m.dateOfBirth ? ageOn(m.dateOfBirth, now) : 'unknown'}`,
      `place: ${m.place ?? 'unknown'}`,
      `verification: ${m.level ?? 'none'}${m.verificationRequired ? ' (verification required)' : ''}`,
      `shadow-banned: ${m.shadowBannedAt ? m.shadowBannedAt.toISOString() : 'no'}`,
      `account age: ${Math.floor((now.getTime() - m.createdAt.getTime()) / day)} days (since ${m.createdAt.toISOString().slice(0, 10)})`,
      `about: ${m.about ? m.about : '(empty)'}`,
      `photos: ${photoLines.length ? '' : '(none)'}`,
      ...photoLines,
      `ban ${title.toLowerCase()} (email ban, one month): ${banToken ? await link(banToken) : '(unavailable)'}`,
      '',
    ]
  }
  const who = (id: string) =>
    id === accused.id ? `ACCUSED ${accused.name ?? ''}` : `REPORTER ${reporter.name ?? ''}`
  const lines = [
    `${reporter.name ?? reporter.email} reported ${accused.name ?? accused.email}.`,
    '',
    `Reason: ${report.reason}`,
    '',
    ...(await section('Accused', accused)),
    ...(await section('Reporter', reporter)),
    `== Last ${recent.length} messages between them (oldest first) ==`,
    ...recent
      .reverse()
      .map(
        (m) =>
          `[${m.at.toISOString()}] ${who(m.senderId).trim()}: ${m.audio ? '(voice message) ' : ''}${m.body}`,
      ),
    '',
    `Links work once and expire in ${moderationTokenTtlMs / day} days. Opening one shows what it will do; confirming does it.`,
  ]
  const text = lines.join('\n')
  const escaped = escapeHtml(text)
  const html = `<!doctype html><html><body><pre style="white-space:pre-wrap;font-family:ui-monospace,Menlo,Consolas,monospace">${escaped.replace(
    /https?:\/\/[^\s<&]+/g,
    (url) => `<a href="${url}">${url}</a>`,
  )}</pre></body></html>`
  return {
    subject: `Report: ${accused.name ?? accused.email} (${accused.id})`.replace(/[\r\n]+/g, ' '),
    text,
    html,
  }
}

/** The report-email job: mail one moderator (REPORT_EMAILS, weighted) about a report. */
export async function sendReportEmailJob(s: Services, job: JobContext) {
  const parsed = ReportJobSchema.safeParse(job.payload)
  if (!parsed.success) throw new PermanentJobError('malformed report payload')
  const to = pickReportRecipient(s.config.moderation.reportEmails)
  if (!to) return { sent: false, reason: 'REPORT_EMAILS is empty' }
  const mail = await reportEmail(s, parsed.data)
  if (!mail) return { sent: false, reason: 'a member was deleted' }
  await sendMail(s, { to, ...mail })
  return { sent: true }
}
