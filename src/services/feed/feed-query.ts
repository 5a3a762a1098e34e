import { type SQL, sql } from 'drizzle-orm'
import { flairExpression } from '../flair/flair'

/**
 * The activity feed as one statement (a pure builder, so the Worker and bench/feed.ts run the
 * same SQL). A member's feed time is the latest of their last event (`profiles.last_event_at`:
 * joined, added a photo or voice bio, updated their bio) and their last time online, counting
 * only times before `before` and within the last month.
 *
 * 1. Candidates stream newest first from two index scans (events, presence) merged, at most
 *    {@link streamCap} from each, each member once (at their latest time); the scan stops at the
 *    {@link windowSize}th candidate that passes.
 * 2. The first {@link windowSize} who pass every rule form the window: active, onboarded, not a
 *    bot, not shadow-banned; the viewer meets their privacy verification level; hide-from-strangers
 *    (unless they messaged the viewer); no skip either way (the viewer's own skips shown when the
 *    viewer's `skipped` filter says so); people the viewer messaged hidden when the `messaged`
 *    filter says so; they want the viewer's gender; fewer than 2 reports in 2 days; verification
 *    required → verified; they "seem human" (verified, a member for a month, custom colours, a
 *    voice bio, 25+ answers with a bio and a club, or a tier with `paidFlair`); and two damping
 *    draws: members who received many intros in the last day (kept with odds
 *    1 / (1 + intros)^1.5) and large age gaps (odds exp(−8·d²), d = (older − younger) / younger).
 *    The draws are md5 of viewer, member and UTC day, so a viewer's pages are the same all day.
 * 3. The best {@link pageSize} of the window by: the viewer wants their gender, match %, time;
 *    returned newest first. The next page starts below the window's oldest candidate — or, when
 *    fewer than {@link windowSize} passed, below the part of the streams that was read (null when
 *    both streams were read to the end of the month).
 *
 * Order and cursor are by (time, member id), both descending: members with the same time are
 * ordered by id, so a page boundary (a window's end, a stream's cap) falling among them splits
 * them exactly — those above it on this page, the rest on the next — and none is skipped.
 */

/** Items per page (50). */
export const pageSize = 50
/** Candidates that pass the rules, of which the best half is shown (100). */
export const windowSize = 100
/**
 * Newest candidates read from each stream per page (a window of 100
 * needs about 800 at the pass rate measured on generated data, see docs/BENCHMARKS.md).
 */
export const streamCap = 1000

/** A position in the feed's (time, member id) order; items strictly below it come next. */
export interface FeedCursor {
  /** ISO 8601; microseconds kept, as a page cursor needs. */
  t: string
  /** Members at exactly `t` with a smaller id come next; null: none at `t` (strictly older only). */
  id: string | null
}

/** The smallest uuid: below it, nothing at the same time (a bare time as a cursor). */
const NIL_UUID = '00000000-0000-0000-0000-000000000000'

export interface FeedQueryOptions {
  viewerId: string
  before: FeedCursor
  /** The current time: the month window, the damping's day, ages. */
  now: Date
  earlyAdopterCutoff: Date | null
  /** Defaults {@link pageSize}, {@link windowSize} and {@link streamCap}; smaller in tests of the ranking and paging. */
  pageSize?: number
  windowSize?: number
  streamCap?: number
}

/** A cursor's text: the time in UTC to the microsecond, `_`, the member id. */
const cursorText = (t: SQL, id: SQL) =>
  sql`to_char(${t} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '_' || ${id}::text`

/** A uniform draw in [0, 1) from md5 of the given SQL text parts. */
const draw = (...parts: SQL[]) =>
  sql`(('x' || substr(md5(${sql.join(parts, sql` || ':' || `)}), 1, 8))::bit(32)::bigint / 4294967296.0)`

/**
 * Rows: `user_id, t, kind, event_photo_id, event_photo_blurhash, added_text, name, url_slug, age,
 * place, photo_id, photo_blurhash, match, verification_level, flair, window_oldest`, newest first;
 * no rows when the viewer has no onboarded profile or nothing qualifies.
 */
export function feedQuery(o: FeedQueryOptions): SQL {
  const before = sql`${o.before.t}::timestamptz`
  const beforeId = sql`${o.before.id ?? NIL_UUID}::uuid`
  /** (time, id) strictly below the cursor, written so an index on the time column serves it. */
  const belowCursor = (t: SQL, id: SQL) =>
    sql`${t} <= ${before} and (${t} < ${before} or ${id} < ${beforeId})`
  const monthAgo = new Date(o.now.getTime() - 30 * 24 * 3600 * 1000).toISOString()
  const now = sql`${o.now.toISOString()}::timestamptz`
  const day = o.now.toISOString().slice(0, 10)
  const cap = sql.raw(String(o.streamCap ?? streamCap))
  return sql`with v as materialized (
    select p.user_id, p.gender, p.personality, p.verification_level as level,
      date_part('year', age(${now}, p.date_of_birth::timestamptz))::int as age,
      coalesce(sp.genders, p.seeking_genders, '{}') as wanted,
      coalesce(sp.filters ->> 'messaged', 'show') as messaged_filter,
      coalesce(sp.filters ->> 'skipped', 'hide') as skipped_filter
    from profiles p
    left join search_preferences sp on sp.user_id = p.user_id
    where p.user_id = ${o.viewerId} and p.onboarded_at is not null
  ), events as not materialized (
    select p.user_id, p.last_event_at as t from profiles p
    where p.onboarded_at is not null and p.shadow_banned_at is null
      and ${belowCursor(sql`p.last_event_at`, sql`p.user_id`)} and p.last_event_at > ${monthAgo}::timestamptz
    order by p.last_event_at desc, p.user_id desc limit ${cap}
  ), online as not materialized (
    select u.id as user_id, u.last_online_at as t from users u
    where u.status = 'active' and ${belowCursor(sql`u.last_online_at`, sql`u.id`)}
      and u.last_online_at > ${monthAgo}::timestamptz
    order by u.last_online_at desc, u.id desc limit ${cap}
  ), bound as (
    -- The streams are inlined (not materialized) so the candidates below are read lazily, and the
    -- bound scans them again from the (time, id) indexes alone.
    -- A stream cut off at its cap was read only down to its last row: the window stays at or
    -- above that row, so the next page (which starts below the window) misses nothing of it.
    -- One row, nulls when neither stream reached its cap.
    select b.t, b.user_id from (select 1) one left join lateral (
      select x.t, x.user_id from (
        (select t, user_id, count(*) over () as n from events order by t, user_id limit 1)
        union all
        (select t, user_id, count(*) over () as n from online order by t, user_id limit 1)) x
      where x.n = ${cap}
      order by x.t desc, x.user_id desc limit 1) b on true
  ), win as (
    select c.user_id, c.t, c.online, p.gender = any(v.wanted) as wanted,
      coalesce((select least(99, greatest(0, round(50 * (1 + sum(x * y)))))::int
        from unnest(v.personality, p.personality) m(x, y)
        having count(x) > 0 and count(y) > 0), 50) as match
    -- Both streams newest first, merged: the first windowSize candidates that pass end the scan.
    from (select user_id, t, false as online from events
      union all select user_id, t, true from online) c
    cross join v
    cross join bound
    -- Primary-key lookups per candidate (LIMIT 1 keeps the planner from hashing whole tables).
    cross join lateral (select * from profiles where user_id = c.user_id limit 1) p
    cross join lateral (select status, deleted_at, role, last_online_at, tier_id from users
      where id = c.user_id limit 1) u
    where p.user_id <> v.user_id and (bound.t is null or (c.t, c.user_id) >= (bound.t, bound.user_id))
      -- each member once, at their latest time below the cursor
      and (case when c.online then not (${belowCursor(sql`p.last_event_at`, sql`p.user_id`)})
          or p.last_event_at < c.t
        else not (${belowCursor(sql`u.last_online_at`, sql`c.user_id`)}) or u.last_online_at <= c.t end)
      and u.status = 'active' and u.deleted_at is null and u.role <> 'bot'
      and p.onboarded_at is not null and p.shadow_banned_at is null
      and v.level >= p.privacy_verification_level
      and (not p.verification_required or p.verification_level <> 'none')
      and (not p.hide_me_from_strangers
        or exists (select 1 from messaged m where m.subject_id = p.user_id and m.object_id = v.user_id))
      and not exists (select 1 from skips k where k.subject_id = p.user_id and k.object_id = v.user_id)
      and (v.skipped_filter = 'show'
        or not exists (select 1 from skips k where k.subject_id = v.user_id and k.object_id = p.user_id))
      and (v.messaged_filter <> 'hide'
        or not exists (select 1 from messaged m where m.subject_id = v.user_id and m.object_id = p.user_id))
      and coalesce((select sp.genders from search_preferences sp where sp.user_id = p.user_id limit 1),
        p.seeking_genders, '{}') @> array[v.gender]
      and (select count(*) from skips k where k.object_id = p.user_id and k.reported
        and k.created_at > ${now} - interval '2 days') < 2
      and (p.verification_level <> 'none'
        or p.onboarded_at < ${now} - interval '1 month'
        or p.theme_title_color is not null
        or exists (select 1 from voice_bios vb where vb.user_id = p.user_id)
        or (p.answer_count >= 25 and coalesce(p.about, '') <> ''
          and exists (select 1 from member_clubs mc where mc.user_id = p.user_id))
        or exists (select 1 from tiers tr where tr.id = u.tier_id and tr.features -> 'paidFlair' = 'true'::jsonb))
      and ${draw(sql`v.user_id::text`, sql`p.user_id::text`, sql`${day}`, sql`'intros'`)}
        < power(1 + (select count(*) from messaged m where m.object_id = p.user_id
          and m.created_at > ${now} - interval '1 day'
          and not exists (select 1 from messaged r where r.subject_id = p.user_id
            and r.object_id = m.subject_id and r.created_at < m.created_at)), -1.5)
      and ${draw(sql`v.user_id::text`, sql`p.user_id::text`, sql`${day}`, sql`'age'`)}
        < exp(-8 * power((abs(v.age - date_part('year', age(${now}, p.date_of_birth::timestamptz)))
          / greatest(18, least(v.age, date_part('year', age(${now}, p.date_of_birth::timestamptz))))), 2))
    order by c.t desc, c.user_id desc
    limit ${sql.raw(String(o.windowSize ?? windowSize))}
  ), best as (
    -- The cursor of the next page: the window's last candidate, or the streams' bound.
    select win.*, case when count(*) over () = ${sql.raw(String(o.windowSize ?? windowSize))}
        then first_value(${cursorText(sql`win.t`, sql`win.user_id`)}) over (order by win.t, win.user_id)
        else ${cursorText(sql`bound.t`, sql`bound.user_id`)} end as window_oldest
    from win cross join bound
    order by wanted desc, match desc, t desc, user_id
    limit ${sql.raw(String(o.pageSize ?? pageSize))}
  )
  select b.user_id, to_char(b.t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as t, b.match, b.window_oldest,
    case when b.online then 'recently-online' when p.last_event_id is null then 'joined' else e.kind::text end as kind,
    case when not b.online then e.photo_id end as event_photo_id,
    case when not b.online then ep.blurhash end as event_photo_blurhash,
    case when not b.online then e.added_text end as added_text,
    u.name, p.url_slug, p.verification_level,
    case when p.show_my_age then date_part('year', age(${now}, p.date_of_birth::timestamptz))::int end as age,
    case when p.show_my_location then pl.short_label end as place,
    ph.id as photo_id, ph.blurhash as photo_blurhash,
    ${flairExpression('p', o.earlyAdopterCutoff)} as flair
  from best b
  join profiles p on p.user_id = b.user_id
  join users u on u.id = b.user_id
  left join places pl on pl.id = p.place_id
  left join feed_events e on e.id = p.last_event_id
  left join photos ep on ep.id = e.photo_id
  left join lateral (select id, blurhash from photos
    where user_id = b.user_id and position > 0 order by position limit 1) ph on true
  order by b.t desc, b.user_id desc`
}
