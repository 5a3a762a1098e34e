import { z } from '@hono/zod-openapi'
import { and, count, eq, isNotNull, isNull, sql } from 'drizzle-orm'
import { clubs, memberClubs, profiles, users } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { cacheKey, cached } from './cache'
import type { Services } from '..'

/**
 * Public head counts for the landing page and club pages. "Active" = the account is active, has
 * finished onboarding, is not soft-deleted and not shadow-banned. Cached 60 s in Redis, so the
 * counts cost at most one query per minute per cluster however often they are asked for.
 */

export const statsTtlSeconds = 60

export const StatsSchema = z
  .object({
    activeMembers: z.number().int(),
    club: z.string().nullable().openapi({ description: 'The club counted, when one was asked for' }),
  })
  .openapi('Stats')

export const GenderStatsSchema = z
  .object({
    genderRatio: z
      .number()
      .nullable()
      .openapi({ description: 'Active men per active woman (2 decimals); null when there are no women' }),
    nonBinaryPercentage: z
      .number()
      .openapi({ description: '% of active members whose gender is non-binary (2 decimals)' }),
  })
  .openapi('GenderStats')

const active = and(
  eq(users.status, 'active'),
  isNull(users.deletedAt),
  isNotNull(profiles.onboardedAt),
  isNull(profiles.shadowBannedAt),
)

const round2 = (n: number) => Math.round(n * 100) / 100

/**
 * How many members are active, in all or in one club (404 for a club that does not exist).
 *
 * @example
 * const { activeMembers } = await activeMemberStats(s, 'board games')
 */
export async function activeMemberStats(
  s: Services,
  club: string | null,
): Promise<z.infer<typeof StatsSchema>> {
  const result = await cached(
    s,
    { key: cacheKey('GET /api/v1/stats', { club: club ?? undefined }), ttlSeconds: statsTtlSeconds },
    async () => {
      const db = s.database.db
      if (club === null) {
        const [row] = await db
          .select({ n: count() })
          .from(users)
          .innerJoin(profiles, eq(profiles.userId, users.id))
          .where(active)
        return { activeMembers: row?.n ?? 0, club }
      }
      const [[exists], [row]] = await db.batch([
        db.select({ name: clubs.name }).from(clubs).where(eq(clubs.name, club)),
        db
          .select({ n: count() })
          .from(memberClubs)
          .innerJoin(users, eq(users.id, memberClubs.userId))
          .innerJoin(profiles, eq(profiles.userId, users.id))
          .where(and(eq(memberClubs.clubName, club), active)),
      ])
      return exists ? { activeMembers: row?.n ?? 0, club } : null
    },
  )
  if (!result) throw new ApiError('not_found', 'No such club')
  return result
}

/**
 * The gender balance of active members: men per woman, and the share of non-binary members.
 *
 * @example
 * const { genderRatio, nonBinaryPercentage } = await genderStats(s)
 */
export async function genderStats(s: Services): Promise<z.infer<typeof GenderStatsSchema>> {
  return cached(s, { key: cacheKey('GET /api/v1/stats/genders'), ttlSeconds: statsTtlSeconds }, async () => {
    const [row] = await s.database.db
      .select({
        men: sql<number>`count(*) filter (where ${profiles.gender} = 'man')::int`,
        women: sql<number>`count(*) filter (where ${profiles.gender} = 'woman')::int`,
        nonBinary: sql<number>`count(*) filter (where ${profiles.gender} = 'non-binary')::int`,
        total: sql<number>`count(*)::int`,
      })
      .from(users)
      .innerJoin(profiles, eq(profiles.userId, users.id))
      .where(active)
    const { men = 0, women = 0, nonBinary = 0, total = 0 } = row ?? {}
    return {
      genderRatio: women > 0 ? round2(men / women) : null,
      nonBinaryPercentage: total > 0 ? round2((100 * nonBinary) / total) : 0,
    }
  })
}
