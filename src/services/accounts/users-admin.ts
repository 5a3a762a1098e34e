import { type SQL, and, asc, count, eq, ilike, isNotNull, isNull, or } from 'drizzle-orm'
import { isUniqueViolation } from '../../db/errors'
import { tiers, users, type UserStatus } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { type PageRequest, pageWindow } from '../../lib/http/pagination'
import type { Role } from './tokens'
import { forgetAccount } from './account-cache'
import { deleteAccount } from './account'
import { revokeUserSessions } from './sessions'
import { isUuid } from '../../lib/ids'
import type { Services } from '..'

/**
 * Admin management of accounts: list, read, edit, soft delete and restore, hard delete, and tier
 * changes. Soft-deleted accounts (`deleted_at` set) do not exist for any of these except restore
 * and hard delete, nor for authentication (account-cache.ts). Every write that changes what the
 * auth middleware reads (role, status, tier, deletion) clears the cached account summary, so it
 * applies on the member's next request rather than after the cache TTL.
 */

/** What admins see of an account: everything but the password hash. */
export interface AdminUser {
  id: string
  email: string
  name: string | null
  username: string | null
  role: Role
  status: UserStatus
  tier: string | null
  tierId: string | null
  signInCount: number
  lastSignInAt: Date | null
  lastOnlineAt: Date
  deactivatedAt: Date | null
  deactivationReason: string | null
  deletedAt: Date | null
  createdAt: Date
  updatedAt: Date
}

const columns = {
  id: users.id,
  email: users.emailDisplay,
  name: users.name,
  username: users.username,
  role: users.role,
  status: users.status,
  tier: tiers.name,
  tierId: users.tierId,
  signInCount: users.signInCount,
  lastSignInAt: users.lastSignInAt,
  lastOnlineAt: users.lastOnlineAt,
  deactivatedAt: users.deactivatedAt,
  deactivationReason: users.deactivationReason,
  deletedAt: users.deletedAt,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
}

/**
 * Path segments name an account by id or by username: members have no username until they pick
 * one, operators are known by theirs. A UUID cannot be a username (usernames have no hyphens),
 * so the two never collide.
 */
function byIdOrUsername(idOrUsername: string): SQL {
  return isUuid(idOrUsername)
    ? eq(users.id, idOrUsername.toLowerCase())
    : eq(users.username, idOrUsername.toLowerCase())
}

const notFound = (idOrUsername: string) => new ApiError('not_found', `No user "${idOrUsername}"`)

async function find(s: Services, idOrUsername: string, deleted: boolean): Promise<AdminUser | null> {
  const [user] = await s.database.db
    .select(columns)
    .from(users)
    .leftJoin(tiers, eq(tiers.id, users.tierId))
    .where(and(byIdOrUsername(idOrUsername), deleted ? isNotNull(users.deletedAt) : isNull(users.deletedAt)))
  return user ?? null
}

/**
 * A live (not soft-deleted) account by id or username, or a 404.
 *
 * @example
 * const user = await getUser(s, 'ada')
 */
export async function getUser(s: Services, idOrUsername: string): Promise<AdminUser> {
  const user = await find(s, idOrUsername, false)
  if (!user) throw notFound(idOrUsername)
  return user
}

export interface UserListQuery extends PageRequest {
  role?: Role
  status?: AdminUser['status']
  /** A tier name. */
  tier?: string
  /** Case-insensitive substring of the name, email or username. */
  search?: string
}

/** `%` and `_` in a search are literal characters, not wildcards. */
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`

/**
 * One page of live accounts, oldest first. Ties on `created_at` are broken by id, so the order is
 * total and a row never shows up on two pages (the boilerplate had no ORDER BY at all).
 *
 * @example
 * const { rows, total } = await listUsers(s, { page: 2, items_per_page: 50, role: 'member', search: 'ada' })
 */
export async function listUsers(
  s: Services,
  query: UserListQuery,
): Promise<{ rows: AdminUser[]; total: number }> {
  const where = and(
    isNull(users.deletedAt),
    query.role ? eq(users.role, query.role) : undefined,
    query.status ? eq(users.status, query.status) : undefined,
    query.tier ? eq(tiers.name, query.tier) : undefined,
    query.search
      ? or(
          ilike(users.name, likePattern(query.search)),
          ilike(users.emailDisplay, likePattern(query.search)),
          ilike(users.username, likePattern(query.search)),
        )
      : undefined,
  )
  const { limit, offset } = pageWindow(query)
  const [rows, [counted]] = await s.database.db.batch([
    s.database.db
      .select(columns)
      .from(users)
      .leftJoin(tiers, eq(tiers.id, users.tierId))
      .where(where)
      .orderBy(asc(users.createdAt), asc(users.id))
      .limit(limit)
      .offset(offset),
    s.database.db
      .select({ total: count() })
      .from(users)
      .leftJoin(tiers, eq(tiers.id, users.tierId))
      .where(where),
  ])
  return { rows, total: counted?.total ?? 0 }
}

/** The fields an admin may change with `PATCH /api/v1/user/{idOrUsername}`. */
export interface UserPatch {
  name?: string | null
  username?: string
  role?: Role
  status?: 'active' | 'deactivated'
}

/**
 * Change an account's documented fields. An admin cannot take away their own admin role or
 * deactivate themselves (403), so there is always someone left to administer the system.
 * Deactivation by an admin ends every session (sign-in refuses such accounts until an admin
 * reactivates them); reactivation clears the deactivation. A taken username is a 409.
 *
 * @example
 * await updateUser(s, 'ada', { role: 'moderator' }, caller.userId)
 */
export async function updateUser(
  s: Services,
  idOrUsername: string,
  patch: UserPatch,
  actorId: string,
): Promise<AdminUser> {
  const user = await getUser(s, idOrUsername)
  if (user.id === actorId) {
    if (patch.role !== undefined && patch.role !== 'admin') {
      throw new ApiError('forbidden', 'You cannot remove your own admin role; ask another admin')
    }
    if (patch.status === 'deactivated')
      throw new ApiError('forbidden', 'You cannot deactivate your own account')
  }
  if (patch.username !== undefined && patch.username !== user.username) {
    const [taken] = await s.database.db
      .select({ id: users.id })
      .from(users)
      .where(eq(users.username, patch.username))
    if (taken) throw new ApiError('conflict', `The username "${patch.username}" is taken`)
  }

  const now = s.clock.now()
  const changes: Partial<typeof users.$inferInsert> = { updatedAt: now }
  if (patch.name !== undefined) changes.name = patch.name
  if (patch.username !== undefined) changes.username = patch.username
  if (patch.role !== undefined) changes.role = patch.role
  const deactivating = patch.status === 'deactivated' && user.status !== 'deactivated'
  if (deactivating) {
    Object.assign(changes, { status: 'deactivated', deactivatedAt: now, deactivationReason: 'admin' })
  } else if (patch.status === 'active' && user.status === 'deactivated') {
    Object.assign(changes, {
      status: 'active',
      deactivatedAt: null,
      deactivationReason: null,
      inactivityNotifiedAt: null,
    })
  }

  try {
    await s.database.db
      .update(users)
      .set(changes)
      .where(and(eq(users.id, user.id), isNull(users.deletedAt)))
  } catch (err) {
    if (isUniqueViolation(err)) throw new ApiError('conflict', `The username "${patch.username}" is taken`)
    throw err
  }
  if (deactivating) await revokeUserSessions(s, user.id, 'deactivated_by_admin')
  await forgetAccount(s, user.id)
  s.log.info('users.updated', { userId: user.id, by: actorId, fields: Object.keys(patch) })
  return getUser(s, user.id)
}

/**
 * Move an account to another tier, effective on its next request.
 *
 * @example
 * await setUserTier(s, memberId, 'gold')
 */
export async function setUserTier(s: Services, idOrUsername: string, tierName: string): Promise<AdminUser> {
  const user = await getUser(s, idOrUsername)
  const [tier] = await s.database.db.select({ id: tiers.id }).from(tiers).where(eq(tiers.name, tierName))
  if (!tier) throw new ApiError('not_found', `No tier named "${tierName}"`)
  await s.database.db
    .update(users)
    .set({ tierId: tier.id, updatedAt: s.clock.now() })
    .where(and(eq(users.id, user.id), isNull(users.deletedAt)))
  await forgetAccount(s, user.id)
  s.log.info('users.tier_changed', { userId: user.id, tier: tierName })
  return getUser(s, user.id)
}

/**
 * Soft delete: the account disappears from every read and from authentication, its sessions end
 * at once, and {@link restoreUser} brings it back (the member signs in again). Nothing else is
 * removed. Admins cannot delete themselves.
 *
 * @example
 * const { deletedAt, revokedSessions } = await softDeleteUser(s, 'spammer_1', caller.userId)
 */
export async function softDeleteUser(
  s: Services,
  idOrUsername: string,
  actorId: string,
): Promise<{ id: string; deletedAt: Date; revokedSessions: number }> {
  const user = await getUser(s, idOrUsername)
  if (user.id === actorId) throw new ApiError('forbidden', 'You cannot delete your own account here')
  const now = s.clock.now()
  const [deleted] = await s.database.db
    .update(users)
    .set({ deletedAt: now, updatedAt: now })
    .where(and(eq(users.id, user.id), isNull(users.deletedAt)))
    .returning({ deletedAt: users.deletedAt })
  if (!deleted) throw notFound(idOrUsername)
  // Marked deleted first: a token checked between the two steps already fails the account lookup.
  const revokedSessions = await revokeUserSessions(s, user.id, 'deleted_by_admin')
  await forgetAccount(s, user.id)
  s.log.info('users.soft_deleted', { userId: user.id, by: actorId, revokedSessions })
  return { id: user.id, deletedAt: deleted.deletedAt!, revokedSessions }
}

/**
 * Undo a soft delete. A live account is a 409 (nothing to restore); an unknown one a 404.
 *
 * @example
 * const user = await restoreUser(s, id)
 */
export async function restoreUser(s: Services, idOrUsername: string): Promise<AdminUser> {
  const user = await find(s, idOrUsername, true)
  if (!user) {
    if (await find(s, idOrUsername, false)) throw new ApiError('conflict', 'This account is not deleted')
    throw notFound(idOrUsername)
  }
  await s.database.db
    .update(users)
    .set({ deletedAt: null, updatedAt: s.clock.now() })
    .where(eq(users.id, user.id))
  await forgetAccount(s, user.id)
  s.log.info('users.restored', { userId: user.id })
  return getUser(s, user.id)
}

/**
 * Delete an account for good, soft-deleted or not, through the same path a member's own deletion
 * takes (sessions revoked, dependent rows removed). Admins cannot delete themselves.
 *
 * @example
 * await hardDeleteUser(s, 'spammer_1', caller.userId)
 */
export async function hardDeleteUser(
  s: Services,
  idOrUsername: string,
  actorId: string,
): Promise<{ id: string }> {
  const [user] = await s.database.db.select({ id: users.id }).from(users).where(byIdOrUsername(idOrUsername))
  if (!user) throw notFound(idOrUsername)
  if (user.id === actorId) throw new ApiError('forbidden', 'You cannot delete your own account here')
  await deleteAccount(s, user.id)
  s.log.info('users.hard_deleted', { userId: user.id, by: actorId })
  return { id: user.id }
}
