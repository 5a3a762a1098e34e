import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultAdminUrl, generateSearchData, prepareBenchDatabase } from '../bench/search-data'
import { answerSumsSql, personalityVector } from '../src/services/personality/maths'
import { defaultAgeRange } from '../src/services/search/geo'

const adminUrl = process.env.TEST_PG_URL ?? defaultAdminUrl
const dbName = `rapport_benchgen_${randomBytes(4).toString('hex')}`
let client: pg.Client
let databaseUrl: string

beforeAll(async () => {
  databaseUrl = await prepareBenchDatabase(adminUrl, dbName, true)
  client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
}, 30_000)

afterAll(async () => {
  await client?.end()
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`drop database if exists ${dbName} with (force)`)
  await admin.end()
})

const one = async <T>(text: string, values: unknown[] = []): Promise<T> =>
  (await client.query(text, values)).rows[0] as T

describe('bench:data generator', () => {
  it('loads 500 members shaped like onboarded sign-ups, then skips an identical reload', async () => {
    const first = await generateSearchData({ databaseUrl, members: 500, seed: 7 })
    expect(first).toMatchObject({ loaded: true, members: 500 })
    expect(first.answers).toBeGreaterThan(500 * 20)

    const users = await one<{ n: number; members: number; active: number; deactivated: number }>(
      `select count(*)::int as n, count(*) filter (where role = 'member')::int as members,
         count(*) filter (where status = 'active')::int as active,
         count(*) filter (where status = 'deactivated' and deactivated_at is not null)::int as deactivated
       from users`,
    )
    expect(users.n).toBe(500)
    expect(users.members).toBe(500)
    expect(users.active + users.deactivated).toBe(500)
    expect(users.deactivated).toBeGreaterThan(5)

    // Every profile is onboarded, on a real place whose coordinates it copies, aged 18–80.
    const profiles = await one<Record<string, number>>(
      `select count(*)::int as n,
         count(*) filter (where p.onboarded_at is not null)::int as onboarded,
         count(*) filter (where p.latitude = pl.latitude and p.longitude = pl.longitude)::int as located,
         min(date_part('year', age(now(), p.date_of_birth)))::int as min_age,
         max(date_part('year', age(now(), p.date_of_birth)))::int as max_age,
         count(distinct p.gender)::int as genders,
         count(*) filter (where p.smoking is null)::int as smoking_unanswered,
         count(*) filter (where p.shadow_banned_at is not null or p.verification_required)::int as restricted
       from profiles p join places pl on pl.id = p.place_id`,
    )
    expect(profiles).toMatchObject({ n: 500, onboarded: 500, located: 500 })
    expect(profiles.min_age).toBeGreaterThanOrEqual(18)
    expect(profiles.max_age).toBeLessThanOrEqual(80)
    expect(profiles.genders).toBeGreaterThanOrEqual(3)
    expect(profiles.smoking_unanswered).toBeGreaterThan(100)
    expect(profiles.restricted).toBeGreaterThan(0)

    // Search preferences follow onboarding's age formula and the member's wanted genders.
    const prefs = await client.query<{ age: number; min_age: number; max_age: number; same: boolean }>(
      `select date_part('year', age(now(), p.date_of_birth))::int as age, s.min_age, s.max_age,
         s.genders = p.seeking_genders as same
       from search_preferences s join profiles p using (user_id)`,
    )
    expect(prefs.rows).toHaveLength(500)
    for (const row of prefs.rows) {
      expect({ minAge: row.min_age, maxAge: row.max_age }).toEqual(defaultAgeRange(row.age))
      expect(row.same).toBe(true)
    }
    const distances = await one<{ unlimited: number; kinds: number }>(
      `select count(*) filter (where max_distance_km is null)::int as unlimited,
         count(distinct max_distance_km)::int as kinds from search_preferences`,
    )
    expect(distances.unlimited).toBeGreaterThan(0)
    expect(distances.kinds).toBeGreaterThan(4)

    const photos = await one<{ n: number; first: number }>(
      `select count(distinct user_id)::int as n, count(*) filter (where position = 1)::int as first from photos`,
    )
    expect(photos.n).toBe(photos.first)
    expect(photos.n / 500).toBeGreaterThan(0.6)
    expect(photos.n / 500).toBeLessThan(0.8)

    // Search's copies on the profile row (set by the generator while triggers are off) agree
    // with the photos and preferences they copy.
    const copies = await one<{ wrong: number }>(
      `select count(*)::int as wrong from profiles p join search_preferences s using (user_id)
       where p.has_photo <> exists (select 1 from photos ph where ph.user_id = p.user_id and ph.position > 0)
         or (p.wants_genders, p.wants_min_age, p.wants_max_age, p.wants_max_distance_km)
           is distinct from (s.genders, s.min_age, s.max_age, s.max_distance_km)`,
    )
    expect(copies.wrong).toBe(0)

    // Vectors agree with the project's maths applied to the stored answers.
    const sample = await client.query<{ user_id: string; personality: number[]; answer_count: number }>(
      `select user_id, personality, answer_count from profiles where answer_count > 0 order by user_id limit 25`,
    )
    const sums = await client.query<{ user_id: string; pos: number; presence: number; absence: number }>(
      `${answerSumsSql.head}$1::uuid[]${answerSumsSql.tail}`,
      [sample.rows.map((r) => r.user_id)],
    )
    for (const row of sample.rows) {
      const mine = sums.rows.filter((s) => s.user_id === row.user_id)
      const presence = mine.map((s) => s.presence)
      const absence = mine.map((s) => s.absence)
      const expected = personalityVector(presence, absence, row.answer_count)
      expect(row.personality).toHaveLength(expected.length)
      row.personality.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 4))
    }
    const counts = await one<{ mismatched: number; without: number; fixed: number }>(
      `select (select count(*)::int from profiles p where answer_count <>
                (select count(*) from answers a where a.user_id = p.user_id and a.answer is not null)) as mismatched,
         (select count(*)::int from profiles where (answer_count = 0) <> (personality is null)) as without,
         (select count(distinct question_id)::int from answers where question_id <= 10) as fixed`,
    )
    expect(counts).toEqual({ mismatched: 0, without: 0, fixed: 10 })

    // The counters the triggers would keep are right.
    const questionCounts = await one<{ wrong: number }>(
      `select count(*)::int as wrong from questions q where (q.count_yes, q.count_no) <>
         (select count(*) filter (where answer), count(*) filter (where not answer) from answers a
          where a.question_id = q.id)`,
    )
    expect(questionCounts.wrong).toBe(0)
    const clubs = await one<{ wrong: number; biggest: number; smallest: number }>(
      `select count(*) filter (where c.member_count <> (select count(*) from member_clubs m
           join users u on u.id = m.user_id and u.status = 'active' where m.club_name = c.name))::int as wrong,
         max(member_count)::int as biggest, min(member_count)::int as smallest
       from clubs c`,
    )
    expect(clubs.wrong).toBe(0)
    expect(clubs.biggest).toBeGreaterThan(clubs.smallest * 3)

    const pairs = await one<{ skips: number; messaged: number; selfish: number }>(
      `select (select count(*)::int from skips) as skips, (select count(*)::int from messaged) as messaged,
         (select count(*)::int from skips where subject_id = object_id) as selfish`,
    )
    expect(pairs).toMatchObject({ skips: first.skips, messaged: first.messaged, selfish: 0 })
    expect(pairs.skips).toBeGreaterThan(0)

    // Generator 2: feed events for about 30 % of members, and every profile's feed time set.
    const feed = await one<{ events: number; unset: number; stale: number }>(
      `select (select count(*)::int from feed_events) as events,
         (select count(*)::int from profiles where onboarded_at is not null and last_event_at is null) as unset,
         (select count(*)::int from profiles p join feed_events e on e.id = p.last_event_id
           where e.at <> p.last_event_at) as stale`,
    )
    expect(feed.events).toBeGreaterThan(100)
    expect(feed.events).toBeLessThan(200)
    expect(feed).toMatchObject({ unset: 0, stale: 0 })

    const again = await generateSearchData({ databaseUrl, members: 500, seed: 7 })
    expect(again).toMatchObject({ loaded: false, members: 500, answers: first.answers, skips: first.skips })
  })

  it('refuses to truncate a database holding accounts it did not make', async () => {
    await client.query(
      `insert into users (email, email_display) values ('ada@example.com', 'ada@example.com')`,
    )
    await expect(generateSearchData({ databaseUrl, members: 20, force: true })).rejects.toThrow(
      /did not make/,
    )
    const { rows } = await client.query(`select count(*)::int as n from users`)
    expect(rows[0].n).toBe(501)
  })

  it('refuses the test suites’ database names', async () => {
    await expect(prepareBenchDatabase(adminUrl, 'rapport_test_1', true)).rejects.toThrow(/rapport_test/)
  })
})
