import { z } from '@hono/zod-openapi'
import { type SQL, sql } from 'drizzle-orm'
import { genderValues, verificationLevelValues } from '../../db/schema'
import { distanceKm } from './geo'
import { flairExpression } from '../flair/flair'
import { type ListFilter, listFilters, parseStoredFilters, unanswered } from './filter-schema'

/**
 * The search SQL, as pure builders of drizzle `SQL` (no Services), so the Worker and the
 * benchmark (bench/search.ts, over node-postgres) run exactly the same statements:
 *
 * ```ts
 * const { rows: [row] } = await db.execute(searcherContextQuery(searcherId))
 * const ctx = parseSearchContext(row)           // null: no such onboarded member
 * const { rows: [built] } = await db.execute(rebuildSearchResultsQuery(ctx!)) // { count }
 * const { rows } = await db.execute(searchPageQuery(searcherId, 0, 10))
 * ```
 *
 * How the uncached search finds the exact best matches at a million members without a vector
 * index: see {@link rebuildSearchResultsQuery} (and docs/BENCHMARKS.md, "Search at 1 M members").
 */

/** Rows a result list keeps (500). */
export const resultListSize = 500

const GenderEnum = z.enum(genderValues)
const LevelEnum = z.enum(verificationLevelValues)

/** What a search needs to know about its searcher (one row of {@link searcherContextQuery}). */
export const SearchContextSchema = z.object({
  userId: z.uuid(),
  gender: GenderEnum,
  age: z.number().int(),
  latitude: z.number(),
  longitude: z.number(),
  personality: z.array(z.number()).nullable(),
  verificationLevel: LevelEnum,
  genders: z.array(GenderEnum),
  minAge: z.number().int(),
  maxAge: z.number().int(),
  /** Date-of-birth window of the age range: `dobAfter < date_of_birth <= dobUntil`. */
  dobAfter: z.string(),
  dobUntil: z.string(),
  maxDistanceKm: z.number().nullable(),
  filters: z.unknown().transform(parseStoredFilters),
  answerFilters: z.array(
    z.object({ questionId: z.number().int(), answer: z.boolean(), acceptUnanswered: z.boolean() }),
  ),
  /** The club filter, only while the searcher is still a member of that club. */
  club: z.string().nullable(),
})
export type SearchContext = z.infer<typeof SearchContextSchema>

const isoDate = (d: Date) => d.toISOString().slice(0, 10)

/**
 * One row with column `ctx` (JSON) describing the searcher; no row when the searcher has no
 * onboarded profile. A member without a preferences row gets the onboarding defaults (their
 * seeking genders, age ± (2 + (age − 18) / 5), anywhere). `now` fixes "today" for ages.
 */
export function searcherContextQuery(searcherId: string, now: Date = new Date()): SQL {
  const today = isoDate(now)
  return sql`with me as (
    select p.user_id, p.gender, p.latitude, p.longitude, p.personality, p.verification_level,
      p.seeking_genders, sp.genders, sp.min_age, sp.max_age, sp.max_distance_km, sp.filters,
      sp.user_id is not null as has_prefs,
      date_part('year', age(${today}::date, p.date_of_birth))::int as age
    from profiles p
    left join search_preferences sp on sp.user_id = p.user_id
    where p.user_id = ${searcherId} and p.onboarded_at is not null
      and p.latitude is not null and p.date_of_birth is not null
  ), ranged as (
    select me.*,
      case when has_prefs then min_age else greatest(18, age - (2 + (age - 18) / 5)) end as lo,
      case when has_prefs then max_age else least(99, age + (2 + (age - 18) / 5)) end as hi
    from me
  )
  select json_build_object(
    'userId', user_id, 'gender', gender, 'age', age, 'latitude', latitude, 'longitude', longitude,
    'personality', personality, 'verificationLevel', verification_level,
    'genders', case when has_prefs then genders
      when cardinality(seeking_genders) > 0 then seeking_genders
      else enum_range(null::gender) end,
    'minAge', lo, 'maxAge', hi,
    'dobAfter', (${today}::date - make_interval(years => hi + 1))::date,
    'dobUntil', (${today}::date - make_interval(years => lo))::date,
    'maxDistanceKm', max_distance_km,
    'filters', coalesce(filters, '{}'::jsonb),
    'answerFilters', coalesce((
      select json_agg(json_build_object('questionId', f.question_id, 'answer', f.answer,
        'acceptUnanswered', f.accept_unanswered) order by f.question_id)
      from search_answer_filters f where f.user_id = ranged.user_id), '[]'::json),
    'club', (select mc.club_name from member_clubs mc
      where mc.user_id = ranged.user_id and mc.club_name = filters->>'club')
  ) as ctx
  from ranged`
}

/**
 * The searcher context from a {@link searcherContextQuery} row (or its `ctx` value); null when
 * there was no row.
 */
export function parseSearchContext(row: unknown): SearchContext | null {
  if (!row) return null
  const value = (row as { ctx?: unknown }).ctx ?? row
  return SearchContextSchema.parse(typeof value === 'string' ? JSON.parse(value) : value)
}

/** A finite number as an SQL literal (vector components, coordinates). */
const num = (x: number) => {
  if (!Number.isFinite(x)) throw new Error(`not a finite number: ${x}`)
  return sql.raw(String(x))
}
const list = (values: readonly (string | number)[]) =>
  sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  )

/**
 * Match % of a candidate's `personality` against the searcher's vector, the dot product written
 * out term by term: `clamp(0, 99, round(100·(1 + a·b)/2))`, 50 when either has no vector.
 */
export function matchExpression(column: SQL, vector: readonly number[] | null): SQL {
  if (!vector || vector.length === 0) return sql`50`
  const terms = sql.join(
    vector.map((x, i) => sql`${column}[${sql.raw(String(i + 1))}] * ${num(x)}::real`),
    sql` + `,
  )
  return sql`(case when ${column} is null or cardinality(${column}) <> ${sql.raw(String(vector.length))} then 50
    else least(99, greatest(0, round(50 * (1 + (${terms})))))::int end)`
}

const kmPerDegree = (Math.PI * 6371) / 180

/** The lon/lat box holding every point within `km` of (lat, lon); null when it wraps the globe. */
export function boundingBox(latitude: number, longitude: number, km: number) {
  const dLat = (km / kmPerDegree) * 1.001
  const south = latitude - dLat
  const north = latitude + dLat
  if (south <= -90 || north >= 90)
    return { south: Math.max(-90, south), north: Math.min(90, north), west: -180, east: 180 }
  const widest = Math.max(Math.abs(south), Math.abs(north))
  const dLon = dLat / Math.cos((widest * Math.PI) / 180)
  if (longitude - dLon < -180 || longitude + dLon > 180) return { south, north, west: -180, east: 180 }
  return { south, north, west: longitude - dLon, east: longitude + dLon }
}

const profileColumn: Record<ListFilter, string> = {
  orientation: 'orientation',
  ethnicity: 'ethnicity',
  lookingFor: 'looking_for',
  smoking: 'smoking',
  drinking: 'drinking',
  drugs: 'drugs',
  longDistance: 'long_distance',
  relationshipStatus: 'relationship_status',
  hasKids: 'has_kids',
  wantsKids: 'wants_kids',
  exercise: 'exercise',
  religion: 'religion',
  starSign: 'star_sign',
}

/** The conditions on the candidate's own profile row (alias `p`) from the one-way filters. */
function profileFilterConditions(ctx: SearchContext): SQL[] {
  const out: SQL[] = []
  for (const key of listFilters) {
    const chosen = ctx.filters[key]
    if (!chosen) continue
    const column = sql.raw(`p.${profileColumn[key]}`)
    const values = chosen.filter((v) => v !== unanswered)
    const parts: SQL[] = []
    if (values.length > 0) parts.push(sql`${column} in (${list(values)})`)
    if (chosen.includes(unanswered)) parts.push(sql`${column} is null`)
    out.push(sql`(${sql.join(parts, sql` or `)})`)
  }
  const h = ctx.filters.height
  if (h?.min != null) out.push(sql`p.height_cm >= ${h.min}`)
  if (h?.max != null) out.push(sql`p.height_cm <= ${h.max}`)
  return out
}

/** One answers lookup per candidate for all Q&A filters: every strict one matched, no accepting one contradicted. */
function answerFilterCondition(ctx: SearchContext, id: SQL): SQL | null {
  const f = ctx.answerFilters
  if (f.length === 0) return null
  const ids = (pred: (x: (typeof f)[number]) => boolean) => f.filter(pred).map((x) => x.questionId)
  const inList = (qs: number[]) => (qs.length ? sql`a.question_id in (${list(qs)})` : sql`false`)
  const strictYes = ids((x) => !x.acceptUnanswered && x.answer)
  const strictNo = ids((x) => !x.acceptUnanswered && !x.answer)
  const acceptYes = ids((x) => x.acceptUnanswered && x.answer)
  const acceptNo = ids((x) => x.acceptUnanswered && !x.answer)
  const strict = strictYes.length + strictNo.length
  return sql`(select count(*) filter (where (${inList(strictYes)} and a.answer) or (${inList(strictNo)} and not a.answer)) = ${strict}
      and count(*) filter (where (${inList(acceptYes)} and not a.answer) or (${inList(acceptNo)} and a.answer)) = 0
    from answers a where a.user_id = ${id} and a.question_id in (${list(f.map((x) => x.questionId))}))`
}

/**
 * The ranking's tiers, best first: the order is (has a photo, verified, match %, id), so every
 * candidate with a photo and a verification ranks above every one without, whatever the match.
 * `rank` is the profile's `search_tier` column (2 for a photo + 1 for a verification).
 */
export const rankingTiers = [
  { rank: 3, photo: true, verified: true },
  { rank: 2, photo: true, verified: false },
  { rank: 1, photo: false, verified: true },
  { rank: 0, photo: false, verified: false },
] as const

/**
 * Who may appear in a search (the conditions) — the same rules in {@link rebuildSearchResultsQuery}
 * and {@link exactRankingQuery}:
 * active, onboarded, not deleted, not a bot, not shadow-banned, verification required → verified;
 * gender among mine, age in my range, within my distance; mutual unless searching a club: they
 * want my gender, my age is in their range, I am within their distance, match ≥ 50 %; no skip
 * either way (mine may show when my `skipped` filter says so); people I messaged hidden when
 * `messaged` says so; people hiding from strangers only when they messaged me; every one-way
 * filter and Q&A filter; a club filter keeps its members.
 *
 * The order: has a photo, verified, match %, id — over EVERY member who may appear, near or far.
 */
function lazyConditions(ctx: SearchContext, row: string): SQL[] {
  const me = ctx.userId
  const f = ctx.filters
  const id = sql.raw(`${row}.user_id`)
  const out: SQL[] = [
    sql`u.status = 'active'`,
    sql`u.deleted_at is null`,
    sql`u.role <> 'bot'`,
    sql`not exists (select 1 from skips k where k.subject_id = ${id} and k.object_id = ${me})`,
    sql`(not ${sql.raw(`${row}.hide`)} or exists (select 1 from messaged m where m.subject_id = ${id} and m.object_id = ${me}))`,
  ]
  if (f.skipped !== 'show')
    out.push(sql`not exists (select 1 from skips k where k.subject_id = ${me} and k.object_id = ${id})`)
  if (f.messaged === 'hide')
    out.push(sql`not exists (select 1 from messaged m where m.subject_id = ${me} and m.object_id = ${id})`)
  const oneWay = profileFilterConditions(ctx)
  if (oneWay.length > 0)
    out.push(
      sql`exists (select 1 from profiles p where p.user_id = ${id} and ${sql.join(oneWay, sql` and `)})`,
    )
  const answers = answerFilterCondition(ctx, id)
  if (answers) out.push(answers)
  return out
}

/**
 * The uncached search as ONE statement: delete the searcher's old result rows, find and rank the
 * candidates, insert the best {@link resultListSize} at positions 1…n. Returns one row `{ count }`.
 *
 * Who may appear and in which order: see {@link lazyConditions} (the rules) — the result is the
 * exact top {@link resultListSize} of that order over every member who may appear (bench/search.ts
 * measures it against {@link exactRankingQuery}). How it stays fast at a million members without
 * a vector index:
 * 1. Without a distance limit, one branch per ranking tier (photo × verified, best first) under
 *    one LIMIT, so a tier is read only when the better tiers hold fewer than 500 people. With
 *    one, a single branch: the box is scanned once and its survivors sorted by tier first (a
 *    branch per tier would scan the same box again for every tier).
 * 2. In a tier, the first stage reads index entries only (migration 0020): without a distance
 *    limit a range of `profiles_search_rank_idx` (gender, tier, date of birth) whose entries
 *    carry the location, the vector and the candidate's own mutual conditions (copied from
 *    search_preferences by triggers); with one, the bounding box of the GiST
 *    `profiles_search_idx` (point, date of birth, gender, tier), which carries the same. Every condition those columns can answer is checked there, including
 *    the mutual ones and match ≥ 50, and the survivors are sorted by match %, id.
 * 3. The survivors are then walked in that order and the remaining conditions (account status,
 *    skips, messages, hiding, one-way profile filters, Q&A filters) are checked per row, by
 *    primary-key lookups, only until 500 pass: most pass, so ~500 lookups rather than one per
 *    candidate.
 */
export function rebuildSearchResultsQuery(ctx: SearchContext): SQL {
  const me = ctx.userId
  const inClub = ctx.club !== null
  const point = sql`point(p.longitude, p.latitude)`
  const match = matchExpression(sql`p.personality`, ctx.personality)
  const distance = distanceKm(sql`p.latitude`, sql`p.longitude`, num(ctx.latitude), num(ctx.longitude))
  const common: SQL[] = [
    sql`p.onboarded_at is not null`,
    sql`p.shadow_banned_at is null`,
    sql`p.user_id <> ${me}`,
    sql`p.gender in (${list(ctx.genders)})`,
    sql`p.date_of_birth > ${ctx.dobAfter}::date`,
    sql`p.date_of_birth <= ${ctx.dobUntil}::date`,
  ]
  if (ctx.maxDistanceKm !== null) {
    const b = boundingBox(ctx.latitude, ctx.longitude, ctx.maxDistanceKm)
    common.push(
      sql`${point} <@ box(point(${num(b.west)}, ${num(b.south)}), point(${num(b.east)}, ${num(b.north)}))`,
      sql`${distance} <= ${ctx.maxDistanceKm}`,
    )
  }
  if (inClub) {
    common.push(sql`p.user_id in (select mc.user_id from member_clubs mc where mc.club_name = ${ctx.club})`)
  } else {
    common.push(
      sql`p.wants_genders @> array[${ctx.gender}]::gender[]`,
      sql`${ctx.age} between p.wants_min_age and p.wants_max_age`,
      sql`(p.wants_max_distance_km is null or p.wants_max_distance_km >= ${distance})`,
    )
  }
  const lazy = lazyConditions(ctx, 'c')
  const tiers = rankingTiers.filter((t) => t.photo || !ctx.filters.hasPhoto)
  /**
   * One ranked stage: the candidates `where` picks, fenced so the match % is written (and
   * planned) once, filtered on it, sorted by `order`, then walked in that order with one lookup
   * per candidate until enough pass.
   */
  const stage = (tier: SQL, where: SQL, order: SQL) => sql`(select c.user_id, c.match, c.tier
    from (
      select * from (
        select p.user_id, p.hide_me_from_strangers as hide, ${tier} as tier, ${match} as match
        from profiles p
        where ${sql.join(common, sql` and `)} and ${where}
        offset 0
      ) s
      ${inClub ? sql`` : sql`where s.match >= 50`}
      order by ${order}
      -- OFFSET 0 keeps this a subquery of its own (not merged into the outer query), so its rows
      -- come out sorted and the lookups below run only until the LIMIT is reached.
      offset 0
    ) c
    -- One lookup per candidate, in rank order, until enough pass: a LATERAL join can only be a
    -- nested loop, which keeps c's order (no ORDER BY here: with a constant match % the planner
    -- would not see that c is already sorted and would sort every row after its lookups).
    cross join lateral (select 1 from users u
      where u.id = c.user_id and ${sql.join(lazy, sql` and `)} limit 1) ok
    limit ${sql.raw(String(resultListSize))})`
  // Verification required → verified: only the unverified tiers hold anyone it excludes.
  const verifiedRanks = rankingTiers.filter((t) => t.verified).map((t) => t.rank)
  const stages =
    ctx.maxDistanceKm === null
      ? // The btree's keys start (gender, tier): one stage per tier, best first, reads a tier's
        // range only when the better tiers hold fewer than 500 people.
        tiers.map((t) =>
          stage(
            sql.raw(String(t.rank)),
            t.verified
              ? sql`p.search_tier = ${sql.raw(String(t.rank))}`
              : sql`p.search_tier = ${sql.raw(String(t.rank))} and not p.verification_required`,
            sql`s.match desc, s.user_id`,
          ),
        )
      : // The GiST box's keys do not start with the tier, so a stage per tier would scan the whole
        // box once per tier. One scan takes every tier and sorts the few that pass by tier first.
        [
          stage(
            sql`p.search_tier`,
            sql`p.search_tier in (${sql.raw(tiers.map((t) => t.rank).join(', '))})
              and (p.search_tier in (${sql.raw(verifiedRanks.join(', '))}) or not p.verification_required)`,
            sql`s.tier desc, s.match desc, s.user_id`,
          ),
        ]

  return sql`with old as (
    delete from search_results where searcher_id = ${me} returning 1
  ), ranked as (
    select user_id, match, row_number() over (order by tier desc, match desc, user_id) as position
    from (select * from (${sql.join(stages, sql` union all `)}) best
      limit ${sql.raw(String(resultListSize))}) x
  ), inserted as (
    insert into search_results (searcher_id, position, prospect_id, match_percentage, built_at)
    select ${me}, position, user_id, match, now() from ranked
    -- Evaluated before the first row: the old rows are gone before the new ones go in.
    where (select count(*) from old) >= 0
    on conflict (searcher_id, position) do update
      set prospect_id = excluded.prospect_id, match_percentage = excluded.match_percentage,
        built_at = excluded.built_at
    returning 1
  )
  select count(*)::int as count from inserted`
}

/**
 * The ranking's definition, written the plain way: every member who may appear (the rules of
 * {@link lazyConditions}, read from search_preferences and photos themselves rather than the
 * copies on the profile row), ordered by (has a photo, verified, match %, id), the first `n`
 * ids. No index makes it fast: it is the yardstick the benchmark measures
 * {@link rebuildSearchResultsQuery}'s recall against, and the tests compare the two.
 */
export function exactRankingQuery(ctx: SearchContext, n: number = resultListSize): SQL {
  const me = ctx.userId
  const inClub = ctx.club !== null
  const distance = distanceKm(sql`p.latitude`, sql`p.longitude`, num(ctx.latitude), num(ctx.longitude))
  const conditions: SQL[] = [
    sql`p.onboarded_at is not null`,
    sql`p.shadow_banned_at is null`,
    sql`p.user_id <> ${me}`,
    sql`p.gender in (${list(ctx.genders)})`,
    sql`p.date_of_birth > ${ctx.dobAfter}::date`,
    sql`p.date_of_birth <= ${ctx.dobUntil}::date`,
    sql`(not p.verification_required or p.verification_level <> 'none')`,
  ]
  if (ctx.maxDistanceKm !== null) conditions.push(sql`${distance} <= ${ctx.maxDistanceKm}`)
  if (inClub) {
    conditions.push(
      sql`exists (select 1 from member_clubs mc where mc.club_name = ${ctx.club} and mc.user_id = p.user_id)`,
    )
  } else {
    conditions.push(
      sql`exists (select 1 from search_preferences sp where sp.user_id = p.user_id
        and sp.genders @> array[${ctx.gender}]::gender[] and ${ctx.age} between sp.min_age and sp.max_age
        and (sp.max_distance_km is null or sp.max_distance_km >= ${distance}))`,
      sql`${matchExpression(sql`p.personality`, ctx.personality)} >= 50`,
    )
  }
  if (ctx.filters.hasPhoto)
    conditions.push(sql`exists (select 1 from photos ph where ph.user_id = p.user_id and ph.position > 0)`)
  return sql`select c.user_id, c.match from (
    select p.user_id, p.hide_me_from_strangers as hide, ${matchExpression(sql`p.personality`, ctx.personality)} as match,
      exists (select 1 from photos ph where ph.user_id = p.user_id and ph.position > 0) as has_photo,
      p.verification_level <> 'none' as verified
    from profiles p
    where ${sql.join(conditions, sql` and `)}
  ) c
  join users u on u.id = c.user_id
  where ${sql.join(lazyConditions(ctx, 'c'), sql` and `)}
  order by c.has_photo desc, c.verified desc, c.match desc, c.user_id
  limit ${sql.raw(String(n))}`
}

/** What a page needs to know about its viewer; read from the database when not given. */
export interface ViewerContext {
  verificationLevel?: (typeof verificationLevelValues)[number]
  /** Today, for ages (default: the database's current date). */
  now?: Date
  /** Re-score each row against the viewer's current personality (the quiz search). */
  liveMatch?: boolean
  /** Members onboarded before this wear the early-adopter flair. */
  earlyAdopterCutoff?: Date | null
}

/**
 * Rows `offset+1 … offset+limit` of the searcher's result list, in position order, re-checked
 * (a prospect who since left, was banned, was told to verify, started hiding from strangers or
 * skipped either way drops out of the page). Always
 * at least one row: `total` and `last` (highest position) describe the whole list, and a row
 * with a null `id` stands for an empty page. Private fields are null (and
 * `verification_required_to_view` says which level unlocks them) when the viewer's verification
 * is below the prospect's privacy level and the prospect has not messaged the viewer.
 */
export function searchPageQuery(
  searcherId: string,
  offset: number,
  limit: number,
  viewer: ViewerContext = {},
): SQL {
  const level = viewer.verificationLevel
    ? sql`${viewer.verificationLevel}::verification_level`
    : sql`coalesce((select verification_level from profiles where user_id = ${searcherId}), 'none')`
  const today = viewer.now ? sql`${isoDate(viewer.now)}::date` : sql`current_date`
  const match = viewer.liveMatch
    ? sql`coalesce((select least(99, greatest(0, round(50 * (1 + sum(x * y)))))::int
        from unnest((select personality from profiles where user_id = ${searcherId}), p.personality) t(x, y)
        having count(x) > 0 and count(y) > 0), 50)`
    : sql`r.match_percentage`
  return sql`with list as (
    select count(*)::int as total, coalesce(max(position), 0)::int as last
    from search_results where searcher_id = ${searcherId}
  ), viewer as (select ${level} as level)
  select list.total, list.last, x.*
  from list
  left join lateral (
    select r.position, r.prospect_id as id, ${match} as match_percentage, p.verification_level,
      mm.messaged_me, exists (select 1 from messaged m where m.subject_id = ${searcherId} and m.object_id = r.prospect_id) as i_messaged,
      case when viewer.level < p.privacy_verification_level and not mm.messaged_me
        then p.privacy_verification_level end as verification_required_to_view,
      p.url_slug, u.name,
      case when p.show_my_age then date_part('year', age(${today}, p.date_of_birth))::int end as age,
      ph.id as photo_id, ph.blurhash as photo_blurhash,
      ${flairExpression('p', viewer.earlyAdopterCutoff ?? null)} as flair
    from search_results r
    cross join viewer
    join profiles p on p.user_id = r.prospect_id
    join users u on u.id = r.prospect_id
    cross join lateral (select exists (select 1 from messaged m
      where m.subject_id = r.prospect_id and m.object_id = ${searcherId}) as messaged_me) mm
    left join lateral (select id, blurhash from photos
      where user_id = r.prospect_id and position > 0 order by position limit 1) ph on true
    where r.searcher_id = ${searcherId}
      and r.position > ${offset} and r.position <= ${offset + limit}
      and u.status = 'active' and u.deleted_at is null and u.role <> 'bot' and p.shadow_banned_at is null
      and (not p.verification_required or p.verification_level <> 'none')
      and (not p.hide_me_from_strangers or mm.messaged_me)
      and not exists (select 1 from skips k where k.subject_id = r.prospect_id and k.object_id = ${searcherId})
    order by r.position
  ) x on true
  order by x.position`
}
