import { and, desc, eq, isNull, sql } from 'drizzle-orm'
import { bannedPhotoHashes, photos, profiles, skips, users } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { day } from '../accounts/account'
import type { Role } from '../accounts/tokens'
import { type Ban, createBan, findActiveBan, liftBan } from './bans'
import { deletePhoto } from '../media/photos'
import type { Services } from '..'

/**
 * What moderators do to a member, through emailed links or admin routes: ban and unban their
 * email, shadow-ban or restore them, delete a photo for good.
 */

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
