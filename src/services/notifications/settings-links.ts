import { eq, sql } from 'drizzle-orm'
import { SignJWT, jwtVerify } from 'jose'
import { profiles } from '../../db/schema'
import { type notificationFrequencyValues } from '../../db/schema/profiles'
import { ApiError } from '../../lib/http/errors'
import { randomToken } from '../../lib/crypto'
import type { Services } from '..'

/**
 * One-click notification-settings links for emails (and the RFC 8058 `List-Unsubscribe`
 * target). The app Rapport replaces changed a frequency by email address with no token, so
 * anyone could change anyone's settings; here a link is an HS256 JWT naming one member (`sub`),
 * one notification type (`kind`) and a link id (`jti`), with its own audience (it can never pass
 * as an access token, nor an access token as a link) and a 60-day expiry.
 *
 * Both requests are idempotent: GET only shows the page; a POST applies one frequency, and a
 * repeat of the same POST changes nothing. A used link refuses a *different* frequency (409
 * `link_used`), so a leaked, already-used link cannot be replayed to flip the setting back.
 */

export const notificationKinds = ['intros', 'chats'] as const
export type NotificationKind = (typeof notificationKinds)[number]
export type Frequency = (typeof notificationFrequencyValues)[number]

const audience = 'rapport-notification-settings'
export const linkLifetimeSeconds = 60 * 24 * 3600

const secretKey = (s: Services) => new TextEncoder().encode(s.config.jwt.secret)

export function settingsPath(userId: string, kind: NotificationKind): string {
  return `/api/v1/notification-settings/${userId}/${kind}`
}

/**
 * A signed link for `userId` and `kind`, absolute when PUBLIC_URL is set.
 *
 * @example
 * const url = await settingsLink(s, user.id, 'intros') // https://api…/api/v1/notification-settings/<id>/intros?token=…
 */
export async function settingsLink(s: Services, userId: string, kind: NotificationKind): Promise<string> {
  const now = Math.floor(s.clock.now().getTime() / 1000)
  const token = await new SignJWT({ kind })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(s.config.jwt.issuer)
    .setAudience(audience)
    .setSubject(userId)
    .setJti(randomToken(12))
    .setIssuedAt(now)
    .setExpirationTime(now + linkLifetimeSeconds)
    .sign(secretKey(s))
  return `${s.config.publicUrl}${settingsPath(userId, kind)}?token=${token}`
}

export interface VerifiedLink {
  userId: string
  kind: NotificationKind
  linkId: string
}

/**
 * Check a link's token against the member and type in its path: forged or malformed → 403,
 * expired → 410 `link_expired`, another member's or another type's token → 403.
 */
export async function verifySettingsLink(
  s: Services,
  path: { userId: string; kind: NotificationKind },
  token: string,
): Promise<VerifiedLink> {
  let payload
  try {
    ;({ payload } = await jwtVerify(token, secretKey(s), {
      algorithms: ['HS256'],
      audience,
      issuer: s.config.jwt.issuer,
      currentDate: s.clock.now(),
    }))
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_JWT_EXPIRED')
      throw new ApiError('link_expired', 'This link has expired')
    throw new ApiError('forbidden', 'This link is not valid')
  }
  if (payload.sub !== path.userId || payload.kind !== path.kind || typeof payload.jti !== 'string') {
    throw new ApiError('forbidden', 'This link is for another member or another notification type')
  }
  return { userId: path.userId, kind: path.kind, linkId: payload.jti }
}

/** The member's current frequency for `kind`; 404 when the profile is gone. */
export async function currentFrequency(s: Services, link: VerifiedLink): Promise<Frequency> {
  const [row] = await s.database.db
    .select({ intros: profiles.introsNotification, chats: profiles.chatsNotification })
    .from(profiles)
    .where(eq(profiles.userId, link.userId))
  if (!row) throw new ApiError('not_found', 'No such member')
  return row[link.kind]
}

/**
 * Apply `frequency` through a verified link. One statement records the link's use (first use
 * wins; the same frequency again is a no-op) and, only when the recorded frequency is this one,
 * updates the profile.
 */
export async function applySettingsLink(
  s: Services,
  link: VerifiedLink,
  frequency: Frequency,
): Promise<void> {
  const column = link.kind === 'intros' ? sql.raw('intros_notification') : sql.raw('chats_notification')
  const { rows } = await s.database.db.execute<{ frequency: string; updated: boolean }>(sql`
    with used as (
      insert into notification_link_uses (link_id, user_id, kind, frequency, used_at)
      values (${link.linkId}, ${link.userId}, ${link.kind}, ${frequency}, ${s.clock.now()})
      on conflict (link_id) do update set link_id = excluded.link_id
      returning frequency
    ), applied as (
      update profiles set ${column} = ${frequency}::notification_frequency
      where user_id = ${link.userId} and (select frequency from used) = ${frequency}
      returning 1
    )
    select (select frequency from used) as frequency, exists (select 1 from applied) as updated`)
  const row = rows[0]!
  if (row.frequency !== frequency) {
    throw new ApiError('link_used', `This link already set ${link.kind} emails to "${row.frequency}"`)
  }
  if (!row.updated) throw new ApiError('not_found', 'No such member')
  s.log.info('notifications.settings_link_applied', { userId: link.userId, kind: link.kind, frequency })
}
