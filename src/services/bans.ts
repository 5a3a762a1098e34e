import { and, desc, eq, gt, isNull, or } from 'drizzle-orm'
import { bans } from '../db/schema'
import type { Services } from '.'

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
