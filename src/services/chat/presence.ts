import { and, eq, inArray, isNotNull, or } from 'drizzle-orm'
import { profiles, skips, users } from '../../db/schema'
import type { Services } from '..'

/**
 * Presence: whether a member is online, as other members see it. The member's UserHub is the
 * only writer. While they hold any hub or conversation socket, the hub keeps
 * `presence:<id>` = `online` in Redis with a short TTL (refreshed by its alarm every
 * {@link presenceRefreshMs}) and `users.last_online_at` fresh; when the last socket closes it
 * writes `recently-online` with a long TTL. No key means offline. A hub that dies without a
 * goodbye (eviction, deploy) leaves an `online` key that expires within {@link onlineTtlSeconds}.
 *
 * Who watches whom: a subscriber's hub adds itself to the Redis set `presence-subscribers:<id>`
 * of each member it watches; when that member's presence changes, their hub reads the set and
 * pushes a `presence` frame through each subscriber's hub (`deliver`).
 */

export const presenceStatusValues = ['online', 'recently-online', 'offline'] as const
export type PresenceStatus = (typeof presenceStatusValues)[number]

/** The hub refreshes presence (Redis TTL and `last_online_at`) this often while connected. */
export const presenceRefreshMs = 4 * 60_000
/** An `online` key outlives two missed refreshes, no more. */
export const onlineTtlSeconds = 10 * 60
/** 12 h of "recently online" after the last socket closed. */
export const recentlyOnlineTtlSeconds = 12 * 3600
/** Subscriptions per member hub (bounds the fan-out one member's presence change costs); the oldest are evicted. */
export const maxPresenceSubscriptions = 500

export const presenceKey = (userId: string) => `presence:${userId}`
export const subscribersKey = (userId: string) => `presence-subscribers:${userId}`

/**
 * Record a member's presence: the Redis key and `users.last_online_at` together.
 *
 * @example
 * await setPresence(s, userId, 'online')
 */
export async function setPresence(
  s: Services,
  userId: string,
  status: Exclude<PresenceStatus, 'offline'>,
): Promise<void> {
  const ttl = status === 'online' ? onlineTtlSeconds : recentlyOnlineTtlSeconds
  await Promise.all([
    s.redis.set(presenceKey(userId), status, { ex: ttl }),
    s.database.db.update(users).set({ lastOnlineAt: s.clock.now() }).where(eq(users.id, userId)),
  ])
}

/**
 * The ids among `others` with a skip between them and `userId`, in either direction: neither
 * may learn the other's presence.
 *
 * @example
 * const refused = await skippedEitherWay(s, me, wanted)
 */
export async function skippedEitherWay(s: Services, userId: string, others: string[]): Promise<Set<string>> {
  if (others.length === 0) return new Set()
  const rows = await s.database.db
    .select({ subjectId: skips.subjectId, objectId: skips.objectId })
    .from(skips)
    .where(
      or(
        and(eq(skips.subjectId, userId), inArray(skips.objectId, others)),
        and(eq(skips.objectId, userId), inArray(skips.subjectId, others)),
      ),
    )
  return new Set(rows.map((r) => (r.subjectId === userId ? r.objectId : r.subjectId)))
}

/**
 * The shadow-banned members among `userIds`: they always look offline to others.
 *
 * @example
 * const invisible = await shadowBanned(s, [alice, bob])
 */
export async function shadowBanned(s: Services, userIds: string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set()
  const rows = await s.database.db
    .select({ userId: profiles.userId })
    .from(profiles)
    .where(and(inArray(profiles.userId, userIds), isNotNull(profiles.shadowBannedAt)))
  return new Set(rows.map((r) => r.userId))
}

/**
 * Current presence of `userIds` as Redis has it (no visibility rules applied).
 *
 * @example
 * const statuses = await presenceOf(s, [alice, bob]) // { [alice]: 'online', [bob]: 'offline' }
 */
export async function presenceOf(s: Services, userIds: string[]): Promise<Record<string, PresenceStatus>> {
  if (userIds.length === 0) return {}
  const values = await s.redis.mget<(string | null)[]>(...userIds.map(presenceKey))
  return Object.fromEntries(
    userIds.map((id, i) => [
      id,
      values[i] === 'online' || values[i] === 'recently-online' ? values[i] : 'offline',
    ]),
  ) as Record<string, PresenceStatus>
}
