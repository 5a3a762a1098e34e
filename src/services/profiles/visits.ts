import { z } from '@hono/zod-openapi'
import { and, count, desc, eq, isNotNull, isNull, not, type SQL, sql } from 'drizzle-orm'
import { messaged, photos, profiles, skips, users, visits } from '../../db/schema'
import { ageOn } from '../search/geo'
import { mediaUrl } from '../media/media-url'
import { type Page, type PageRequest, paginate, pageWindow } from '../../lib/http/pagination'
import { describeError } from '../../lib/log'
import type { Services } from '..'

/**
 * Profile visits: who looked at my profile ("visitors") and whose profiles I looked at
 * ("visited"). One row per pair, `updated_at` = the latest visit. A member whose tier has
 * `invisibleBrowsing` and who switched on `browseInvisibly` leaves invisible visits: kept for
 * their own "visited" list, never shown to the member they visited.
 */

export const VisitSchema = z
  .object({
    id: z.uuid().openapi({ description: 'The member' }),
    urlSlug: z.string().nullable().openapi({ description: 'null when masked' }),
    name: z.string().nullable().openapi({ description: 'null when masked' }),
    age: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'null when the member hides their age, or masked' }),
    photo: z
      .object({ url: z.url().openapi({ description: '450 × 450 JPEG' }), blurhash: z.string() })
      .nullable()
      .openapi({ description: 'null without a photo, or masked' }),
    verificationRequiredToView: z
      .enum(['basics', 'photos'])
      .nullable()
      .openapi({
        description:
          'The verification the member asks of people who see their profile, when mine is below it (and they ' +
          'have not messaged me): their slug, name, age and photo are then null, as in search.',
      }),
    visitedAt: z.iso.datetime().openapi({ description: 'The latest visit' }),
    isNew: z.boolean().openapi({ description: 'Visitors: after my last check. Visited: always false' }),
    invisible: z.boolean().openapi({ description: 'Visited: I browsed invisibly. Visitors: always false' }),
  })
  .openapi('Visit')
export type Visit = z.infer<typeof VisitSchema>

/**
 * Record that `viewerId` looked at the profile named by `key` (a condition on the profiles table),
 * now — a statement for a `db.batch`, an upsert reading the viewer's `browseInvisibly`; nothing is
 * recorded for a viewer without a profile, nor when the viewer may not see that profile: the profile route's visibility rules for a member, in SQL — live (onboarded, active,
 * not deleted), not oneself, the member has not skipped the viewer, and unless the member has
 * messaged the viewer, neither hiding from strangers nor asking for more verification than the
 * viewer has. Returns the recorded visit's `invisible` (no row when none was recorded).
 * `invisibleBrowsing` is the viewer's tier feature.
 *
 * @example
 * const [, visit] = await db.batch([profileQuery, recordVisitIfVisibleQuery(s, me, eq(profiles.urlSlug, slug), false)])
 */
export function recordVisitIfVisibleQuery(
  s: Services,
  viewerId: string,
  key: SQL,
  invisibleBrowsing: boolean,
) {
  const now = s.clock.now()
  return s.database.db.execute<{ invisible: boolean }>(sql`
    insert into ${visits} (subject_id, object_id, invisible, created_at, updated_at)
    select ${viewerId}, ${profiles.userId}, mine.browse_invisibly and ${invisibleBrowsing}, ${now}, ${now}
    from ${profiles}
    join ${users} on ${users.id} = ${profiles.userId}
    join ${profiles} mine on mine.user_id = ${viewerId} and mine.onboarded_at is not null
    where ${key} and ${profiles.onboardedAt} is not null and ${users.deletedAt} is null
      and ${users.status} = 'active' and ${profiles.userId} <> ${viewerId}
      and not exists (select 1 from ${skips} where ${skips.subjectId} = ${profiles.userId} and ${skips.objectId} = ${viewerId})
      and ((not ${profiles.hideMeFromStrangers} and ${profiles.privacyVerificationLevel} <= mine.verification_level)
        or exists (select 1 from ${messaged} where ${messaged.subjectId} = ${profiles.userId} and ${messaged.objectId} = ${viewerId}))
    on conflict (subject_id, object_id) do update
      set updated_at = excluded.updated_at, invisible = excluded.invisible
    returning invisible`)
}

/** Members another member may be shown in a visit list: live, onboarded, not shadow-banned. */
const liveMember = and(
  eq(users.status, 'active'),
  isNull(users.deletedAt),
  isNotNull(profiles.onboardedAt),
  isNull(profiles.shadowBannedAt),
)

const skippedEitherWay = (a: SQL | string, b: SQL | string) =>
  sql`exists (select 1 from ${skips} where (${skips.subjectId} = ${a} and ${skips.objectId} = ${b}) or (${skips.subjectId} = ${b} and ${skips.objectId} = ${a}))`

/**
 * The statements of a visit list page: the rows and the total. `me` may be SQL (the member a
 * slug names, resolved in the statement), so a profile view can read its visitor row in the same
 * batch as the visit it records.
 */
function visitPageQueries(
  s: Services,
  me: string | SQL,
  direction: 'visitors' | 'visited',
  window: { limit: number; offset: number },
  only?: string,
) {
  const mine = direction === 'visitors' ? visits.objectId : visits.subjectId
  const other = direction === 'visitors' ? visits.subjectId : visits.objectId
  const where = and(
    eq(mine, me),
    only ? eq(other, only) : undefined,
    direction === 'visitors' ? not(visits.invisible) : undefined,
    liveMember,
    not(skippedEitherWay(sql`${visits.subjectId}`, sql`${visits.objectId}`)),
  )
  const checkedAt = sql`(select ${profiles.visitorsCheckedAt} from ${profiles} where ${profiles.userId} = ${me})`
  // Their privacy level against my verification (enum order none < basics < photos), waived when
  // they have messaged me: the profile route's rule, so a list shows no more than a view would.
  const requiredToView = sql<'basics' | 'photos' | null>`case when ${profiles.privacyVerificationLevel} >
      (select mine.verification_level from ${profiles} mine where mine.user_id = ${me})
    and not exists (select 1 from ${messaged} where ${messaged.subjectId} = ${other} and ${messaged.objectId} = ${me})
    then ${profiles.privacyVerificationLevel}::text end`
  const firstPhoto = (column: SQL) =>
    sql<
      string | null
    >`(select ${column} from ${photos} where ${photos.userId} = ${other} and ${photos.position} > 0 order by ${photos.position} limit 1)`
  const db = s.database.db
  return [
    db
      .select({
        id: other,
        urlSlug: profiles.urlSlug,
        name: users.name,
        dateOfBirth: profiles.dateOfBirth,
        showMyAge: profiles.showMyAge,
        photoId: firstPhoto(sql`${photos.id}`),
        blurhash: firstPhoto(sql`${photos.blurhash}`),
        visitedAt: visits.updatedAt,
        invisible: visits.invisible,
        isNew: sql<boolean>`${visits.updatedAt} > coalesce(${checkedAt}, '-infinity'::timestamptz)`,
        requiredToView,
      })
      .from(visits)
      .innerJoin(users, eq(users.id, other))
      .innerJoin(profiles, eq(profiles.userId, other))
      .where(where)
      .orderBy(desc(visits.updatedAt), other)
      .limit(window.limit)
      .offset(window.offset),
    db
      .select({ n: count() })
      .from(visits)
      .innerJoin(users, eq(users.id, other))
      .innerJoin(profiles, eq(profiles.userId, other))
      .where(where),
  ] as const
}

type VisitRow = Awaited<ReturnType<typeof visitPageQueries>[0]>[number]

function toVisit(s: Services, r: VisitRow, direction: 'visitors' | 'visited', now: Date): Visit {
  const masked = r.requiredToView !== null
  return {
    id: r.id,
    urlSlug: masked ? null : (r.urlSlug ?? ''),
    name: masked ? null : (r.name ?? ''),
    age: !masked && r.showMyAge && r.dateOfBirth ? ageOn(r.dateOfBirth, now) : null,
    photo:
      !masked && r.photoId && r.blurhash
        ? { url: mediaUrl(s.config, 'images', `450-${r.photoId}.jpg`), blurhash: r.blurhash }
        : null,
    visitedAt: new Date(r.visitedAt).toISOString(),
    isNew: direction === 'visitors' && Boolean(r.isNew),
    invisible: direction === 'visited' && r.invisible,
    verificationRequiredToView: r.requiredToView,
  }
}

async function visitPage(
  s: Services,
  me: string,
  direction: 'visitors' | 'visited',
  page: PageRequest,
  only?: string,
): Promise<Page<Visit>> {
  const [rows, [total]] = await s.database.db.batch(
    visitPageQueries(s, me, direction, pageWindow(page), only),
  )
  const now = s.clock.now()
  return paginate(
    rows.map((r) => toVisit(s, r, direction, now)),
    total?.n ?? 0,
    page,
  )
}

/**
 * Who visited my profile, latest first. Invisible visits, shadow-banned, deactivated and
 * deleted visitors, and anyone in a skip with me (either way) are left out. `isNew` marks
 * visits after my last {@link markVisitorsChecked}.
 *
 * @example
 * const page = await listVisitors(s, caller.userId, { page: 1, items_per_page: 20 })
 */
export function listVisitors(s: Services, userId: string, page: PageRequest) {
  return visitPage(s, userId, 'visitors', page)
}

/**
 * Whose profiles I visited, latest first, invisible visits included (marked), under the same
 * liveness and skip rules as {@link listVisitors}.
 *
 * @example
 * const page = await listVisited(s, caller.userId, { page: 1, items_per_page: 20 })
 */
export function listVisited(s: Services, userId: string, page: PageRequest) {
  return visitPage(s, userId, 'visited', page)
}

/**
 * `visitorId` as a row of `objectId`'s visitor list (null when that list would not show them),
 * for the live `visitor` event.
 *
 * @example
 * const row = await visitorRow(s, profileOwnerId, caller.userId)
 */
export async function visitorRow(s: Services, objectId: string, visitorId: string): Promise<Visit | null> {
  const page = await visitPage(s, objectId, 'visitors', { page: 1, items_per_page: 1 }, visitorId)
  return page.data[0] ?? null
}

/**
 * {@link visitorRow} as a statement for a `db.batch` (`objectId` may be SQL); read its result
 * with {@link visitorRowFrom}. After a visit upsert in the same batch it sees that visit.
 *
 * @example
 * const [, rows] = await db.batch([visitQuery, visitorRowQuery(s, ownerIdSql, me)])
 * const row = visitorRowFrom(s, rows)
 */
export function visitorRowQuery(s: Services, objectId: string | SQL, visitorId: string) {
  return visitPageQueries(s, objectId, 'visitors', { limit: 1, offset: 0 }, visitorId)[0]
}

/** The visitor row a {@link visitorRowQuery} returned, or null. */
export function visitorRowFrom(s: Services, rows: VisitRow[]): Visit | null {
  const row = rows[0]
  return row ? toVisit(s, row, 'visitors', s.clock.now()) : null
}

/**
 * Remember that I looked at my visitors now: visits until now are no longer new.
 *
 * @example
 * const { checkedAt } = await markVisitorsChecked(s, caller.userId)
 */
export async function markVisitorsChecked(s: Services, userId: string): Promise<{ checkedAt: string }> {
  const now = s.clock.now()
  await s.database.db.update(profiles).set({ visitorsCheckedAt: now }).where(eq(profiles.userId, userId))
  return { checkedAt: now.toISOString() }
}

/**
 * Push a visitor row to `objectId`'s inbox sockets (their UserHub) as a `visitor` frame. Meant
 * for `waitUntil`: failures are logged.
 *
 * @example
 * c.executionCtx.waitUntil(pushVisitor(s, profileOwnerId, row))
 */
export async function pushVisitor(s: Services, objectId: string, row: Visit): Promise<void> {
  try {
    await s.env.USER_HUB.getByName(objectId).deliver({ type: 'visitor', ...row })
  } catch (err) {
    s.log.warn('visits.push_failed', { objectId, error: describeError(err) })
  }
}
