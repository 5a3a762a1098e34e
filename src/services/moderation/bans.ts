import { and, count, desc, eq, gt, isNull, not, or } from 'drizzle-orm'
import { bans, users } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { type PageRequest, pageWindow } from '../../lib/http/pagination'
import type { Role } from '../accounts/tokens'
import { revokeUserSessions } from '../accounts/sessions'
import type { Services } from '..'

export type Ban = typeof bans.$inferSelect

/**
 * The active ban (not lifted, not expired) matching a normalised email or an IP, if any.
 *
 * @example
 * const ban = await findActiveBan(s, { email: 'a@example.com', ip: '203.0.113.7' })
 */
export async function findActiveBan(s: Services, who: { email?: string; ip?: string }): Promise<Ban | null> {
  const matches = []
  if (who.email) matches.push(and(eq(bans.kind, 'email'), eq(bans.value, who.email)))
  if (who.ip && who.ip !== 'unknown') matches.push(and(eq(bans.kind, 'ip'), eq(bans.value, who.ip)))
  if (matches.length === 0) return null
  const now = s.clock.now()
  const [ban] = await s.database.db
    .select()
    .from(bans)
    .where(and(or(...matches), isNull(bans.liftedAt), or(isNull(bans.expiresAt), gt(bans.expiresAt, now))))
    .orderBy(desc(bans.createdAt))
    .limit(1)
  return ban ?? null
}

export type BanKind = Ban['kind']

/** Whether a ban is in force at `now`: not lifted and not past its expiry. */
export function isBanActive(ban: Pick<Ban, 'liftedAt' | 'expiresAt'>, now: Date): boolean {
  return ban.liftedAt === null && (ban.expiresAt === null || ban.expiresAt > now)
}

const activeAt = (now: Date) =>
  and(isNull(bans.liftedAt), or(isNull(bans.expiresAt), gt(bans.expiresAt, now)))

/**
 * Ban a normalised email or an IP. An email ban also ends every live session of that account at
 * once (its access tokens fail on their next request), so a banned member cannot keep using the
 * app until their token expires. Moderators may not ban operators (moderator/admin accounts), and
 * nobody may ban their own account; a second active ban on the same value is a conflict.
 *
 * @example
 * const { ban, revokedSessions } = await createBan(s, { kind: 'email', value: 'spam@example.com', reason: 'spam' }, caller)
 */
export async function createBan(
  s: Services,
  input: { kind: BanKind; value: string; reason: string; expiresAt?: Date | null },
  /** `userId` null: no operator account (a moderator's emailed link), recorded as `createdBy` null. */
  actor: { userId: string | null; role: Role },
): Promise<{ ban: Ban; revokedSessions: number }> {
  const now = s.clock.now()
  if (input.expiresAt && input.expiresAt <= now) {
    throw new ApiError('validation_failed', 'A ban must expire in the future', {
      errors: [{ path: 'json.expiresAt', message: 'must be in the future' }],
    })
  }
  const [existing] = await s.database.db
    .select({ id: bans.id })
    .from(bans)
    .where(and(eq(bans.kind, input.kind), eq(bans.value, input.value), activeAt(now)))
    .limit(1)
  if (existing) throw new ApiError('conflict', `This ${input.kind} is already banned (ban ${existing.id})`)

  const [target] =
    input.kind === 'email'
      ? await s.database.db
          .select({ id: users.id, role: users.role })
          .from(users)
          .where(eq(users.email, input.value))
      : []
  if (target?.id === actor.userId) throw new ApiError('forbidden', 'You cannot ban your own account')
  if (target && (target.role === 'admin' || target.role === 'moderator') && actor.role !== 'admin') {
    throw new ApiError('forbidden', 'Only an admin can ban an operator account')
  }

  const [ban] = await s.database.db
    .insert(bans)
    .values({
      kind: input.kind,
      value: input.value,
      reason: input.reason,
      expiresAt: input.expiresAt ?? null,
      createdBy: actor.userId,
      createdAt: now,
    })
    .returning()
  // The ban is recorded first, so a sign-in racing with this request is refused either way.
  const revokedSessions = target ? await revokeUserSessions(s, target.id, 'banned') : 0
  s.log.info('bans.created', { banId: ban!.id, kind: input.kind, by: actor.userId, revokedSessions })
  return { ban: ban!, revokedSessions }
}

/**
 * One page of bans, newest first (ties broken by id, so pages never overlap), optionally only
 * active (`true`) or inactive — lifted or expired — (`false`) ones, or one kind.
 *
 * @example
 * const { rows, total } = await listBans(s, { page: 1, items_per_page: 20, active: true })
 */
export async function listBans(
  s: Services,
  query: PageRequest & { active?: boolean; kind?: BanKind },
): Promise<{ rows: Ban[]; total: number }> {
  const now = s.clock.now()
  const where = and(
    query.kind ? eq(bans.kind, query.kind) : undefined,
    query.active === undefined ? undefined : query.active ? activeAt(now) : not(activeAt(now)!),
  )
  const { limit, offset } = pageWindow(query)
  const [rows, [counted]] = await s.database.db.batch([
    s.database.db
      .select()
      .from(bans)
      .where(where)
      .orderBy(desc(bans.createdAt), desc(bans.id))
      .limit(limit)
      .offset(offset),
    s.database.db.select({ total: count() }).from(bans).where(where),
  ])
  return { rows, total: counted?.total ?? 0 }
}

/**
 * Lift a ban (it stays on record with `liftedAt`). Lifting a lifted ban changes nothing and
 * returns it as it is; an unknown id gives `null`.
 *
 * @example
 * const ban = await liftBan(s, id)
 * if (!ban) throw new ApiError('not_found', 'No such ban')
 */
export async function liftBan(s: Services, id: string): Promise<Ban | null> {
  const [lifted] = await s.database.db
    .update(bans)
    .set({ liftedAt: s.clock.now() })
    .where(and(eq(bans.id, id), isNull(bans.liftedAt)))
    .returning()
  if (lifted) return lifted
  const [found] = await s.database.db.select().from(bans).where(eq(bans.id, id))
  return found ?? null
}
