import { and, asc, desc, eq, getTableColumns, gt, inArray, isNotNull, isNull, lt, lte, or } from 'drizzle-orm'
import {
  bans,
  exportTokens,
  jobs,
  memberClubs,
  photos,
  profiles,
  refreshTokens,
  searchAnswerFilters,
  searchPreferences,
  sessions,
  signInChallenges,
  skips,
  users,
  verifications,
  visits,
  voiceBios,
} from '../../db/schema'
import { randomToken, sha256Hex } from '../../lib/crypto'
import { ApiError } from '../../lib/http/errors'
import { describeError } from '../../lib/log'
import { emailHtml } from '../../lib/http/html'
import { sendMail } from '../platform/mail'
import { revokeSessions, revokeUserSessions } from './sessions'
import type { Services } from '..'
import { forgetAccount } from './account-cache'
import { deleteBounded } from '../../db/bounded-delete'
import { chatExport } from '../chat/inbox'

/**
 * The member's own account: deactivation, deletion, data export, and the two account crons
 * (inactivity deactivation, garbage collection of expired auth records).
 */

const day = 86_400_000

/** How long an export link works once issued (the seed's 10 minutes). */
export const exportTokenTtlSeconds = 600

// ---------------------------------------------------------------------------------------------
// Deactivation and deletion

export interface DeactivationState {
  status: 'deactivated'
  deactivatedAt: Date
}

/**
 * Hide the caller's account until they sign in again (sign-in sets `status` back to `active`).
 * Sessions are kept on purpose: the member can still read their own data and sign back in from
 * the same device. Idempotent: deactivating twice keeps the first time and reason.
 *
 * Accounts still onboarding cannot be deactivated (409): since signing in again makes a
 * deactivated account `active`, it would let someone skip onboarding.
 *
 * @example
 * const { status, deactivatedAt } = await deactivateAccount(s, caller.userId)
 */
export async function deactivateAccount(s: Services, userId: string): Promise<DeactivationState> {
  const now = s.clock.now()
  const [changed] = await s.database.db
    .update(users)
    .set({ status: 'deactivated', deactivatedAt: now, deactivationReason: 'user', updatedAt: now })
    .where(and(eq(users.id, userId), eq(users.status, 'active')))
    .returning({ deactivatedAt: users.deactivatedAt })
  if (changed) {
    await forgetAccount(s, userId)
    return { status: 'deactivated', deactivatedAt: changed.deactivatedAt! }
  }

  const [user] = await s.database.db
    .select({ status: users.status, deactivatedAt: users.deactivatedAt })
    .from(users)
    .where(eq(users.id, userId))
  if (!user) throw new ApiError('not_found', 'No such account')
  if (user.status === 'onboarding') {
    throw new ApiError('conflict', 'Finish onboarding before deactivating the account')
  }
  return { status: 'deactivated', deactivatedAt: user.deactivatedAt ?? now }
}

/**
 * Delete an account and everything that is the member's. The one path every deletion takes
 * (the member's own `DELETE /api/v1/me` today; admin bans later), so what "everything" means is
 * decided here once.
 *
 * 1. Every session is revoked first, in Redis as well as Postgres, so access tokens already in
 *    the member's hands stop working at once rather than at expiry: deleting the session rows
 *    alone would leave no revocation marker for the auth middleware to find.
 * 2. Stored files will be queued for deletion from R2 here, before the rows that name them go.
 *    No table holds files yet; the media issue adds that step to this function.
 * 3. The user row goes, and with it, by foreign-key cascade, sessions, refresh tokens, export
 *    tokens and jobs. Pending sign-in challenges hold the email and IP but no foreign key, so
 *    they are deleted by email in the same transaction. Bans against the email stay: they are
 *    the operators' record and must outlive the account, or deleting it would lift them.
 *
 * @example
 * await deleteAccount(s, caller.userId)
 */
export async function deleteAccount(s: Services, userId: string): Promise<void> {
  await revokeUserSessions(s, userId, 'account_deleted')
  const [user] = await s.database.db.select({ email: users.email }).from(users).where(eq(users.id, userId))
  if (!user) return
  // neon-http batch: one round trip, one transaction.
  await s.database.db.batch([
    s.database.db.delete(signInChallenges).where(eq(signInChallenges.email, user.email)),
    s.database.db.delete(users).where(eq(users.id, userId)),
  ])
  await forgetAccount(s, userId)
  s.log.info('account.deleted', { userId })
}

// ---------------------------------------------------------------------------------------------
// Data export

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
    } satisfies AccountExport
  })
  if (!exported) throw new ApiError('not_found', 'This export link is unknown, used or expired')
  s.log.info('account.exported', { userId: exported.profile.id })
  return exported
}

// ---------------------------------------------------------------------------------------------
// Inactivity deactivation (cron)

/** The seed's window: members last online between 30 and 50 days ago. */
const inactiveAfterDays = 30
const inactiveUntilDays = 50
/** A member who signed in this recently is not deactivated, whatever `last_online_at` says. */
const recentSignInMs = 10 * 60_000
/** How long a failed "we deactivated you" email is retried before it is given up. */
const notifyRetryDays = 7
/** SMTP deliveries in flight at once: one connection each. */
const mailConcurrency = 4

export interface InactivityRunResult {
  dryRun: boolean
  /** Deactivated in this run (in a dry run: would have been). */
  deactivated: number
  /** Emails claimed and delivered (or skipped, for @example.com) in this run. */
  notified: number
  /** Deliveries that failed and will be retried by the next run. */
  notifyFailed: number
}

/**
 * Deactivate members who have been away a while, end their sessions and tell them once by email
 * ("sign in again to come back"). Run hourly by cron; bounded by `batchSize` per run and safe to
 * run twice, late or concurrently.
 *
 * Who: role `member`, status `active`, `last_online_at` in (scheduledAt − 50 days, scheduledAt −
 * 30 days], and no sign-in in the last ten minutes. The lower bound is the seed's and is kept on
 * purpose: anyone away longer than 50 days crossed the 30-day line weeks ago and was handled by
 * the runs of those days (the 20-day width absorbs any outage of the cron). An account still
 * active beyond the window is one those runs deliberately left alone (the job was off or in dry
 * run, an admin reactivated it, it was imported); switching the job on must not deactivate and
 * email that whole back catalogue at once.
 *
 * In what order, and why:
 * 1. Deactivate (one conditional UPDATE: a concurrent run cannot deactivate a person twice) and
 *    clear `inactivity_notified_at`, which from then on means "this deactivation was announced".
 * 2. Revoke the sessions of everyone deactivated by inactivity and not yet notified, which
 *    includes earlier runs' leftovers, so a run that died between steps still ends in a state
 *    where nobody deactivated holds a working token.
 * 3. Claim each notification (set `inactivity_notified_at` where it is null), then send. Claiming
 *    first means two overlapping runs never both mail one person; a failed delivery releases the
 *    claim so the next run retries it (for {@link notifyRetryDays} days). The deactivation stands
 *    whatever happens to the email. Someone who signs in before the retry is `active` again and
 *    is not mailed.
 *
 * With `dryRun` it only logs whom it would deactivate and changes nothing.
 *
 * @example
 * const result = await deactivateInactiveAccounts(s, { scheduledAt, batchSize: 500, dryRun: false })
 */
export async function deactivateInactiveAccounts(
  s: Services,
  opts: { scheduledAt: Date; batchSize: number; dryRun: boolean },
): Promise<InactivityRunResult> {
  const { db } = s.database
  const now = s.clock.now()
  const from = new Date(opts.scheduledAt.getTime() - inactiveUntilDays * day)
  const until = new Date(opts.scheduledAt.getTime() - inactiveAfterDays * day)
  const inWindow = and(
    eq(users.role, 'member'),
    eq(users.status, 'active'),
    gt(users.lastOnlineAt, from),
    lte(users.lastOnlineAt, until),
    or(isNull(users.lastSignInAt), lt(users.lastSignInAt, new Date(now.getTime() - recentSignInMs))),
  )

  if (opts.dryRun) {
    const would = await db
      .select({ id: users.id, lastOnlineAt: users.lastOnlineAt })
      .from(users)
      .where(inWindow)
      .orderBy(asc(users.lastOnlineAt))
      .limit(opts.batchSize)
    s.log.info('inactivity.dry_run', {
      wouldDeactivate: would.length,
      users: would.map((u) => ({ id: u.id, lastOnlineAt: u.lastOnlineAt.toISOString() })),
    })
    return { dryRun: true, deactivated: would.length, notified: 0, notifyFailed: 0 }
  }

  const candidates = db
    .select({ id: users.id })
    .from(users)
    .where(inWindow)
    .orderBy(asc(users.lastOnlineAt))
    .limit(opts.batchSize)
  const deactivated = await db
    .update(users)
    .set({
      status: 'deactivated',
      deactivatedAt: now,
      deactivationReason: 'inactivity',
      inactivityNotifiedAt: null,
      updatedAt: now,
    })
    .where(and(inArray(users.id, candidates), eq(users.status, 'active')))
    .returning({ id: users.id })

  const unannounced = and(
    eq(users.status, 'deactivated'),
    eq(users.deactivationReason, 'inactivity'),
    isNull(users.inactivityNotifiedAt),
    gt(users.deactivatedAt, new Date(now.getTime() - notifyRetryDays * day)),
  )
  const pending = await db
    .select({ id: users.id })
    .from(users)
    .where(unannounced)
    .orderBy(asc(users.deactivatedAt))
    .limit(opts.batchSize)
  const affected = [...new Set([...deactivated.map((u) => u.id), ...pending.map((u) => u.id)])]

  if (affected.length > 0) {
    const live = await db
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(inArray(sessions.userId, affected), isNull(sessions.revokedAt)))
    await revokeSessions(
      s,
      live.map((r) => r.id),
      'inactivity',
    )
  }

  const claimed =
    pending.length === 0
      ? []
      : await db
          .update(users)
          .set({ inactivityNotifiedAt: now })
          .where(
            and(
              inArray(
                users.id,
                pending.map((u) => u.id),
              ),
              unannounced,
            ),
          )
          .returning({ id: users.id, email: users.emailDisplay })

  let notified = 0
  let notifyFailed = 0
  const queue = [...claimed]
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const user = next
      try {
        // sendMail itself skips @example.com addresses (seed and review accounts): they count
        // as notified, there is nobody to tell.
        await sendMail(s, { to: user.email, ...inactivityEmail() })
        notified++
      } catch (err) {
        notifyFailed++
        s.log.warn('inactivity.notify_failed', { userId: user.id, error: describeError(err) })
        // Release the claim (only ours: a later deactivation would have reset it anyway).
        await db
          .update(users)
          .set({ inactivityNotifiedAt: null })
          .where(and(eq(users.id, user.id), eq(users.inactivityNotifiedAt, now)))
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(mailConcurrency, queue.length) }, worker))

  const result = { dryRun: false, deactivated: deactivated.length, notified, notifyFailed }
  s.log.info('inactivity.run', { ...result })
  return result
}

/**
 * The one email an inactive member gets: what happened, that nothing was deleted, and how to
 * come back. Plain text plus a minimal HTML twin, no links or tracking, like the sign-in email.
 *
 * @example
 * await sendMail(s, { to: user.emailDisplay, ...inactivityEmail() })
 */
export function inactivityEmail(): { subject: string; text: string; html: string } {
  const subject = 'We deactivated your Rapport account'
  const lines = [
    'Hi,',
    '',
    `You haven't been on Rapport for over ${inactiveAfterDays} days, so we deactivated your account: ` +
      'your profile is hidden from other members and you have been signed out everywhere.',
    '',
    'Nothing has been deleted. Sign in again, with this email address, whenever you want to come back ' +
      'and your profile will be visible again.',
    '',
    '— Rapport',
  ]
  return { subject, text: lines.join('\n'), html: emailHtml(lines) }
}

// ---------------------------------------------------------------------------------------------
// Garbage collection (cron)

export interface GarbageRunResult {
  signInChallenges: number
  refreshTokens: number
  sessions: number
  exportTokens: number
  bans: number
}

/**
 * Delete auth records nobody can use any more, at most `batchSize` rows per table per call so a
 * run stays bounded however large the backlog (a full batch is logged: the next run continues).
 *
 * - sign-in challenges expired or consumed more than a day ago (a day of them helps explain a
 *   member's "I never got the code" report);
 * - refresh tokens past expiry: an expired token is refused before reuse detection looks at it,
 *   so keeping it would detect nothing. They go before sessions, so the session deletes below
 *   rarely cascade into many rows;
 * - sessions revoked or expired more than 30 days ago (they stay that long in the member's
 *   "where was I signed in" history and the export);
 * - export tokens used or expired (the export itself is not stored);
 * - bans expired or lifted more than 90 days ago; recent ones stay as the moderators' record.
 *
 * @example
 * const counts = await collectAccountGarbage(s, { batchSize: 5000 })
 */
export async function collectAccountGarbage(
  s: Services,
  opts: { batchSize: number },
): Promise<GarbageRunResult> {
  const { db } = s.database
  const now = s.clock.now()
  const ago = (days: number) => new Date(now.getTime() - days * day)
  const limit = opts.batchSize

  const challenges = await deleteBounded(
    db,
    signInChallenges,
    signInChallenges.id,
    or(lt(signInChallenges.expiresAt, ago(1)), lt(signInChallenges.consumedAt, ago(1))),
    limit,
  )
  const tokens = await deleteBounded(
    db,
    refreshTokens,
    refreshTokens.tokenHash,
    lt(refreshTokens.expiresAt, now),
    limit,
  )
  const oldSessions = await deleteBounded(
    db,
    sessions,
    sessions.id,
    or(lt(sessions.revokedAt, ago(30)), lt(sessions.expiresAt, ago(30))),
    limit,
  )
  const exports = await deleteBounded(
    db,
    exportTokens,
    exportTokens.tokenHash,
    or(isNotNull(exportTokens.usedAt), lt(exportTokens.expiresAt, now)),
    limit,
  )
  const oldBans = await deleteBounded(
    db,
    bans,
    bans.id,
    or(lt(bans.expiresAt, ago(90)), lt(bans.liftedAt, ago(90))),
    limit,
  )

  const result: GarbageRunResult = {
    signInChallenges: challenges,
    refreshTokens: tokens,
    sessions: oldSessions,
    exportTokens: exports,
    bans: oldBans,
  }
  const full = Object.entries(result).filter(([, n]) => n >= limit)
  if (full.length > 0) s.log.warn('gc.backlog', { tables: full.map(([t]) => t), batchSize: limit })
  return result
}
