import { z } from '@hono/zod-openapi'
import { and, desc, eq, inArray } from 'drizzle-orm'
import { messages, moderationTokens, places, profiles, users } from '../../db/schema'
import { escapeHtml } from '../../lib/http/html'
import { ageOn } from '../search/geo'
import { mediaUrl } from '../media/media-url'
import { day } from '../accounts/account'
import { type JobContext, PermanentJobError } from '../platform/jobs'
import { sendMail } from '../platform/mail'
import { type TokenRow, moderationTokenTtlMs, signModerationToken } from './moderation-links'
import type { Services } from '..'

/**
 * The report email: every report emails one moderator (REPORT_EMAILS, weighted) through the jobs
 * queue, with both members' details, their photos, the last 25 messages between them and their
 * moderation links.
 */

export const reportEmailJobType = 'moderation.report-email'
export const reportMessageCount = 25

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
