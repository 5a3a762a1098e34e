import { z } from '@hono/zod-openapi'
import { type SQL, and, count, desc, eq, sql } from 'drizzle-orm'
import { bannedClubs, clubs, memberClubs, users } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { type Page, type PageRequest, paginate, pageWindow } from '../../lib/http/pagination'
import { checkProfileText } from '../moderation/text-rules'
import { cacheKey, cached } from '../platform/cache'
import { fieldError } from '../profiles/fields'
import { tierFeatures } from '../accounts/tiers'
import type { Services } from '..'

/**
 * Clubs: interest groups members join by name (created by the first member to join). Names are
 * trimmed and lower-cased, words of letters, digits and `/#'":_-` separated by single spaces, at
 * most 42 characters, not rude and not close to a banned name. `clubs.member_count` counts
 * active members and is kept by triggers (migrations/0011), whatever path changes membership
 * or a member's status.
 */

export const maxClubNameLength = 42
/** Club names: words of `[a-z0-9/#'":_-]` separated by single spaces. */
const clubNamePattern = /^[a-z0-9/#'":_-]+( [a-z0-9/#'":_-]+)*$/
/** Trigram word similarity at or above which a name counts as a banned one ("nazis" ≈ "nazi"). */
const bannedSimilarity = 0.75
/** Rows a club search returns. */
export const clubSearchLimit = 20
/** How long the public club list and stats stay cached. */
export const publicClubsTtlSeconds = 60

export const ClubSchema = z
  .object({
    name: z.string().openapi({ example: 'board games' }),
    memberCount: z.number().int().openapi({ description: 'Active members' }),
  })
  .openapi('Club')
export type ClubView = z.infer<typeof ClubSchema>

export const ProfileClubSchema = ClubSchema.extend({
  mutual: z.boolean().openapi({ description: 'I am in it too' }),
}).openapi('ProfileClub')

export const ClubSearchRowSchema = ClubSchema.extend({
  isMember: z.boolean().openapi({ description: 'Whether I am in it' }),
}).openapi('ClubSearchRow')
export type ClubSearchRow = z.infer<typeof ClubSearchRowSchema>

export const ClubNameSchema = z
  .string()
  .transform((name) => name.trim().toLowerCase())
  .pipe(
    z
      .string()
      .min(1, 'Required')
      .max(maxClubNameLength, `At most ${maxClubNameLength} characters`)
      .regex(clubNamePattern, 'Letters, digits and / # \' " : _ - in words separated by single spaces'),
  )
  .openapi({
    type: 'string',
    minLength: 1,
    maxLength: maxClubNameLength,
    example: 'board games',
    description: 'Case-insensitive; stored lower-cased',
  })

/** Why `name` (already normalised) may not be a club, or null when it may. */
async function refusal(s: Services, name: string): Promise<string | null> {
  const verdict = checkProfileText('club', name)
  if (!verdict.ok) return verdict.message
  const [banned] = await s.database.db
    .select({ name: bannedClubs.name })
    .from(bannedClubs)
    .where(sql`word_similarity(${bannedClubs.name}, ${name}) >= ${bannedSimilarity}`)
    .limit(1)
  return banned ? 'This club name is not allowed' : null
}

/**
 * Refuse (422 on `path`) a club name that is rude or close to a banned one.
 *
 * @example
 * await assertAllowedClubName(s, 'board games', 'json.name')
 */
export async function assertAllowedClubName(s: Services, name: string, path: string): Promise<void> {
  const why = await refusal(s, name)
  if (why) throw fieldError(path, why)
}

/**
 * Join a club, creating it when new. Joining a club I am in changes nothing (`joined: false`).
 * The number of clubs is capped by the tier feature `clubQuota` (403 `club_quota_exceeded`); the
 * member's row is locked while counting, so parallel joins cannot overshoot it.
 *
 * @example
 * const { club, joined } = await joinClub(s, { userId, tierId }, 'board games')
 */
export async function joinClub(
  s: Services,
  member: { userId: string; tierId: string | null },
  name: string,
  path = 'json.name',
): Promise<{ club: ClubView; joined: boolean }> {
  await assertAllowedClubName(s, name, path)
  const { clubQuota } = await tierFeatures(s, member.tierId)
  const now = s.clock.now()
  const joined = await s.database.transaction(async (tx) => {
    await tx.select({ id: users.id }).from(users).where(eq(users.id, member.userId)).for('update')
    const [already] = await tx
      .select({ name: memberClubs.clubName })
      .from(memberClubs)
      .where(and(eq(memberClubs.userId, member.userId), eq(memberClubs.clubName, name)))
    if (already) return false
    const [{ n } = { n: 0 }] = await tx
      .select({ n: count() })
      .from(memberClubs)
      .where(eq(memberClubs.userId, member.userId))
    if (n >= clubQuota) {
      throw new ApiError('club_quota_exceeded', `Your tier lets you join at most ${clubQuota} clubs`, {
        errors: [{ path, message: `Leave a club first (clubQuota ${clubQuota})` }],
      })
    }
    await tx.insert(clubs).values({ name, createdAt: now }).onConflictDoNothing()
    await tx.insert(memberClubs).values({ userId: member.userId, clubName: name, joinedAt: now })
    return true
  })
  const [club] = await s.database.db
    .select({ name: clubs.name, memberCount: clubs.memberCount })
    .from(clubs)
    .where(eq(clubs.name, name))
  return { club: club!, joined }
}

/**
 * Leave a club; 404 when I am not in it. The club itself stays (with one member fewer).
 *
 * @example
 * await leaveClub(s, caller.userId, 'board games')
 */
export async function leaveClub(s: Services, userId: string, name: string): Promise<void> {
  const left = await s.database.db
    .delete(memberClubs)
    .where(and(eq(memberClubs.userId, userId), eq(memberClubs.clubName, name)))
    .returning({ name: memberClubs.clubName })
  if (left.length === 0) throw new ApiError('not_found', 'You are not in that club')
}

/**
 * The clubs I am in, newest first.
 *
 * @example
 * const page = await myClubs(s, caller.userId, { page: 1, items_per_page: 50 })
 */
export async function myClubs(s: Services, userId: string, page: PageRequest): Promise<Page<ClubView>> {
  const { limit, offset } = pageWindow(page)
  const db = s.database.db
  const [rows, [total]] = await db.batch([
    db
      .select({ name: clubs.name, memberCount: clubs.memberCount })
      .from(memberClubs)
      .innerJoin(clubs, eq(clubs.name, memberClubs.clubName))
      .where(eq(memberClubs.userId, userId))
      .orderBy(desc(memberClubs.joinedAt), clubs.name)
      .limit(limit)
      .offset(offset),
    db.select({ n: count() }).from(memberClubs).where(eq(memberClubs.userId, userId)),
  ])
  return paginate(rows, total?.n ?? 0, page)
}

/** `%`, `_` and `\` matched literally in a LIKE pattern. */
const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`)

/**
 * Clubs whose names start with or resemble `q` (trigram similarity, the GIN index), most similar
 * first, then the bigger; `viewer` adds whether they are in each.
 */
async function fuzzyClubs(s: Services, q: string, viewer: string | null, limit: number) {
  return s.database.db
    .select({
      name: clubs.name,
      memberCount: clubs.memberCount,
      isMember: viewer
        ? sql<boolean>`exists (select 1 from ${memberClubs} where ${memberClubs.userId} = ${viewer} and ${memberClubs.clubName} = ${clubs.name})`
        : sql<boolean>`false`,
    })
    .from(clubs)
    .where(sql`(${clubs.name} % ${q} or ${clubs.name} like ${likeEscape(q) + '%'})`)
    .orderBy(
      sql`${clubs.name} = ${q} desc`,
      sql`similarity(${clubs.name}, ${q}) desc`,
      desc(clubs.memberCount),
      clubs.name,
    )
    .limit(limit)
}

/**
 * Club search for members: up to 20 rows. The exact name typed comes first when it may be a
 * club (so a member can create it), then clubs that start with it or resemble it.
 *
 * @example
 * const rows = await searchClubs(s, caller.userId, 'board')
 */
export async function searchClubs(s: Services, userId: string, q: string): Promise<ClubSearchRow[]> {
  const typedIsValid = clubNamePattern.test(q) && q.length <= maxClubNameLength
  const [rows, why] = await Promise.all([
    fuzzyClubs(s, q, userId, clubSearchLimit),
    typedIsValid ? refusal(s, q) : Promise.resolve('invalid'),
  ])
  const exact = rows.find((r) => r.name === q)
  const rest = rows.filter((r) => r.name !== q)
  // An existing club is listed whatever the rules say now (members may leave it); a new name
  // is offered only when it could be created.
  const first = exact ?? (why === null ? { name: q, memberCount: 0, isMember: false } : null)
  return (first ? [first, ...rest] : rest).slice(0, clubSearchLimit)
}

/**
 * The public club list: with an empty `q` the 20 biggest clubs, else up to 20 clubs starting
 * with or resembling `q`; clubs without active members are left out. Cached 60 s in Redis.
 *
 * @example
 * const top = await publicClubs(s, '')
 */
export async function publicClubs(s: Services, q: string): Promise<ClubView[]> {
  return cached(
    s,
    { key: cacheKey('GET /api/v1/clubs/top', { q }), ttlSeconds: publicClubsTtlSeconds },
    async () => {
      if (q === '') {
        return s.database.db
          .select({ name: clubs.name, memberCount: clubs.memberCount })
          .from(clubs)
          .where(sql`${clubs.memberCount} > 0`)
          .orderBy(desc(clubs.memberCount), clubs.name)
          .limit(clubSearchLimit)
      }
      const rows = await fuzzyClubs(s, q, null, clubSearchLimit * 2)
      return rows
        .filter((r) => r.memberCount > 0)
        .slice(0, clubSearchLimit)
        .map(({ name, memberCount }) => ({ name, memberCount }))
    },
  )
}

/**
 * Another member's clubs as `viewer` sees them: the ones we share first (`mutual`), then the
 * rest, each group by size. Without a viewer nothing is mutual.
 *
 * @example
 * const clubs = await clubsOf(s, profileOwnerId, caller?.userId ?? null)
 */
export async function clubsOf(
  s: Services,
  userId: string,
  viewer: string | null,
): Promise<(ClubView & { mutual: boolean })[]> {
  return clubsOfQuery(s, userId, viewer)
}

/**
 * The statement behind {@link clubsOf}, not yet run, for a `db.batch`; `userId` may be SQL (the
 * member a slug names, resolved inside the same statement).
 *
 * @example
 * const [row, clubs] = await s.database.db.batch([profileQuery, clubsOfQuery(s, ownerIdSql, viewerId)])
 */
export function clubsOfQuery(s: Services, userId: string | SQL, viewer: string | null) {
  const mutual = viewer
    ? sql<boolean>`exists (select 1 from ${memberClubs} mine where mine.user_id = ${viewer} and mine.club_name = ${clubs.name})`
    : sql<boolean>`false`
  return s.database.db
    .select({ name: clubs.name, memberCount: clubs.memberCount, mutual })
    .from(memberClubs)
    .innerJoin(clubs, eq(clubs.name, memberClubs.clubName))
    .where(eq(memberClubs.userId, userId))
    .orderBy(...(viewer ? [desc(mutual)] : []), desc(clubs.memberCount), clubs.name)
}
