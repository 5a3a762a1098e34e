import { z } from '@hono/zod-openapi'
import { and, eq, gt, isNull, sql } from 'drizzle-orm'
import { moderationTokens, users } from '../../db/schema'
import { deleteBounded } from '../../db/bounded-delete'
import { hmacHex, timingSafeEqualStrings } from '../../lib/crypto'
import { ApiError } from '../../lib/http/errors'
import { mediaUrl } from '../media/media-url'
import { day } from '../accounts/account'
import type { Role } from '../accounts/tokens'
import { banAndDeletePhoto, banMember } from './sanctions'
import type { Services } from '..'

/**
 * Emailed moderation links: every report mints signed single-use links (ban either member,
 * delete any photo) valid for a month; opening one describes it, confirming it acts once.
 */

/** Moderation links, last a month, long enough for a moderator's backlog. */
export const moderationTokenTtlMs = 30 * day

export type TokenRow = typeof moderationTokens.$inferSelect

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
