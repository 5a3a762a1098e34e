import { and, desc, eq, getTableColumns, gt, isNull } from 'drizzle-orm'
import {
  bans,
  exportTokens,
  jobs,
  memberClubs,
  photos,
  profiles,
  searchAnswerFilters,
  searchPreferences,
  sessions,
  signInChallenges,
  skips,
  users,
  verifications,
  visits,
  voiceBios,
  purchaseEvents,
  socialIdentities,
  subscriptions,
} from '../../db/schema'
import { randomToken, sha256Hex } from '../../lib/crypto'
import { ApiError } from '../../lib/http/errors'
import type { Services } from '..'
import { chatExport } from '../chat/inbox'
import { exportTokenTtlSeconds } from './account'

/**
 * The member's data export: a short-lived link, then everything Rapport holds about them as JSON.
 */

/**
 * Issue a single-use export link for the caller: a 256-bit random token, stored only as its
 * SHA-256 (a database reader cannot turn rows into working links), valid ten minutes.
 *
 * @example
 * const { token, expiresAt } = await createExportToken(s, caller.userId)
 * // GET /api/v1/me/export/<token>
 */
export async function createExportToken(
  s: Services,
  userId: string,
): Promise<{ token: string; expiresAt: Date }> {
  const now = s.clock.now()
  const token = randomToken()
  const expiresAt = new Date(now.getTime() + exportTokenTtlSeconds * 1000)
  await s.database.db
    .insert(exportTokens)
    .values({ tokenHash: await sha256Hex(token), userId, expiresAt, createdAt: now })
  return { token, expiresAt }
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json }
type JsonRow = Record<string, Json>

/** Everything Rapport stores about one person, as served by `GET /api/v1/me/export/{token}`. */
export interface AccountExport {
  format: 'rapport.account-export'
  version: 1
  exportedAt: string
  /** The user row, every column but the password hash. */
  profile: JsonRow
  sessions: JsonRow[]
  signInChallenges: JsonRow[]
  exportTokens: JsonRow[]
  jobs: JsonRow[]
  /** Bans against the account's email address, lifted and expired ones included. */
  bans: JsonRow[]
  /** The dating profile (or onboarding draft), every column; null before onboarding starts. */
  datingProfile: JsonRow | null
  searchPreferences: JsonRow | null
  /** The member's Q&A search filters. */
  searchAnswerFilters: JsonRow[]
  /** Photo and voice-bio records (the files themselves are linked from the profile). */
  photos: JsonRow[]
  voiceBio: JsonRow | null
  /** The selfie-verification attempt, with the model's answer. */
  verification: JsonRow | null
  /** People the member skipped or reported, with the reasons they gave. */
  skips: JsonRow[]
  /** One row per conversation: box, last message, unread count, read marker. */
  inbox: JsonRow[]
  /** Every message the member sent or can see, by conversation and sequence number. */
  messages: JsonRow[]
  /** The clubs the member is in, with when they joined. */
  clubs: JsonRow[]
  /** Profiles the member visited (the visit of theirs others see, unless invisible). */
  visits: JsonRow[]
  /** Google and Apple accounts linked for sign-in. */
  linkedAccounts: JsonRow[]
  /** Paid access per source (app stores, web) and every purchase event received. */
  subscriptions: JsonRow[]
  purchases: JsonRow[]
}

const jsonRow = (row: Record<string, unknown>): JsonRow =>
  Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : ((v ?? null) as Json)]),
  )

// Derived from the table so columns later issues add to `users` are exported without anyone
// remembering to list them here; only the password hash is held back.
const { passwordHash: _passwordHash, ...profileColumns } = getTableColumns(users)

/**
 * Redeem an export token and return the member's data. The token is claimed (`used_at` set) in
 * the same transaction that reads the data: of two concurrent redemptions the second waits on
 * the row lock, then finds it used; and when reading fails the claim rolls back, so the link is
 * not burnt by a server error. Unknown, used and expired tokens are one answer, 404, so the
 * endpoint tells a guesser nothing.
 *
 * @example
 * const data = await redeemExportToken(s, c.req.valid('param').token)
 */
export async function redeemExportToken(s: Services, token: string): Promise<AccountExport> {
  const hash = await sha256Hex(token)
  const now = s.clock.now()
  const exported = await s.database.transaction(async (tx) => {
    const [claim] = await tx
      .update(exportTokens)
      .set({ usedAt: now })
      .where(
        and(eq(exportTokens.tokenHash, hash), isNull(exportTokens.usedAt), gt(exportTokens.expiresAt, now)),
      )
      .returning({ userId: exportTokens.userId })
    if (!claim) return null
    const userId = claim.userId
    const [profile] = await tx.select(profileColumns).from(users).where(eq(users.id, userId))
    if (!profile) return null
    const sessionRows = await tx
      .select({
        id: sessions.id,
        client: sessions.client,
        device: sessions.device,
        ip: sessions.ip,
        createdAt: sessions.createdAt,
        lastSeenAt: sessions.lastSeenAt,
        expiresAt: sessions.expiresAt,
        revokedAt: sessions.revokedAt,
        revokedReason: sessions.revokedReason,
      })
      .from(sessions)
      .where(eq(sessions.userId, userId))
      .orderBy(desc(sessions.createdAt))
    const challengeRows = await tx
      .select({
        id: signInChallenges.id,
        emailDisplay: signInChallenges.emailDisplay,
        ip: signInChallenges.ip,
        attempts: signInChallenges.attempts,
        sends: signInChallenges.sends,
        createdAt: signInChallenges.createdAt,
        expiresAt: signInChallenges.expiresAt,
        consumedAt: signInChallenges.consumedAt,
      })
      .from(signInChallenges)
      .where(eq(signInChallenges.email, profile.email))
      .orderBy(desc(signInChallenges.createdAt))
    const tokenRows = await tx
      .select({
        createdAt: exportTokens.createdAt,
        expiresAt: exportTokens.expiresAt,
        usedAt: exportTokens.usedAt,
      })
      .from(exportTokens)
      .where(eq(exportTokens.userId, userId))
      .orderBy(desc(exportTokens.createdAt))
    const jobRows = await tx
      .select({
        id: jobs.id,
        type: jobs.type,
        status: jobs.status,
        attempts: jobs.attempts,
        payload: jobs.payload,
        result: jobs.result,
        error: jobs.error,
        createdAt: jobs.createdAt,
        updatedAt: jobs.updatedAt,
        startedAt: jobs.startedAt,
        finishedAt: jobs.finishedAt,
      })
      .from(jobs)
      .where(eq(jobs.ownerId, userId))
      .orderBy(desc(jobs.createdAt))
    const banRows = await tx
      .select({
        id: bans.id,
        value: bans.value,
        reason: bans.reason,
        createdAt: bans.createdAt,
        expiresAt: bans.expiresAt,
        liftedAt: bans.liftedAt,
      })
      .from(bans)
      .where(and(eq(bans.kind, 'email'), eq(bans.value, profile.email)))
      .orderBy(desc(bans.createdAt))
    const [datingProfile] = await tx.select().from(profiles).where(eq(profiles.userId, userId))
    const [preferences] = await tx
      .select()
      .from(searchPreferences)
      .where(eq(searchPreferences.userId, userId))
    const answerFilterRows = await tx
      .select()
      .from(searchAnswerFilters)
      .where(eq(searchAnswerFilters.userId, userId))
      .orderBy(searchAnswerFilters.questionId)
    const photoRows = await tx.select().from(photos).where(eq(photos.userId, userId)).orderBy(photos.position)
    const [voiceBio] = await tx.select().from(voiceBios).where(eq(voiceBios.userId, userId))
    const [verification] = await tx.select().from(verifications).where(eq(verifications.userId, userId))
    const skipRows = await tx
      .select({
        objectId: skips.objectId,
        reported: skips.reported,
        reportReason: skips.reportReason,
        createdAt: skips.createdAt,
      })
      .from(skips)
      .where(eq(skips.subjectId, userId))
      .orderBy(desc(skips.createdAt))
    const chat = await chatExport(tx, userId)
    const clubRows = await tx
      .select({ name: memberClubs.clubName, joinedAt: memberClubs.joinedAt })
      .from(memberClubs)
      .where(eq(memberClubs.userId, userId))
      .orderBy(desc(memberClubs.joinedAt))
    const visitRows = await tx
      .select({
        objectId: visits.objectId,
        invisible: visits.invisible,
        createdAt: visits.createdAt,
        updatedAt: visits.updatedAt,
      })
      .from(visits)
      .where(eq(visits.subjectId, userId))
      .orderBy(desc(visits.updatedAt))
    const linkedRows = await tx.select().from(socialIdentities).where(eq(socialIdentities.userId, userId))
    const subscriptionRows = await tx.select().from(subscriptions).where(eq(subscriptions.userId, userId))
    const purchaseRows = await tx
      .select()
      .from(purchaseEvents)
      .where(eq(purchaseEvents.userId, userId))
      .orderBy(desc(purchaseEvents.occurredAt))
    return {
      format: 'rapport.account-export',
      version: 1,
      exportedAt: now.toISOString(),
      profile: jsonRow(profile),
      sessions: sessionRows.map(jsonRow),
      signInChallenges: challengeRows.map(jsonRow),
      exportTokens: tokenRows.map(jsonRow),
      jobs: jobRows.map(jsonRow),
      bans: banRows.map(jsonRow),
      datingProfile: datingProfile ? jsonRow(datingProfile) : null,
      searchPreferences: preferences ? jsonRow(preferences) : null,
      searchAnswerFilters: answerFilterRows.map(jsonRow),
      photos: photoRows.map(jsonRow),
      voiceBio: voiceBio ? jsonRow(voiceBio) : null,
      verification: verification ? jsonRow(verification) : null,
      skips: skipRows.map(jsonRow),
      inbox: chat.inbox.map(jsonRow),
      messages: chat.messages.map(jsonRow),
      clubs: clubRows.map(jsonRow),
      visits: visitRows.map(jsonRow),
      linkedAccounts: linkedRows.map(jsonRow),
      subscriptions: subscriptionRows.map(jsonRow),
      purchases: purchaseRows.map(jsonRow),
    } satisfies AccountExport
  })
  if (!exported) throw new ApiError('not_found', 'This export link is unknown, used or expired')
  s.log.info('account.exported', { userId: exported.profile.id })
  return exported
}
