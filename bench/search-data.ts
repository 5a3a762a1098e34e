import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { applyMigrations } from '../scripts/migrate'
import { personalityDataVersion, presenceAbsence, questions } from '../scripts/personality-data'
import { personalityVector } from '../src/services/personality/maths'
import { defaultAgeRange } from '../src/services/search/geo'
/**
 * `npm run bench:data`: a dedicated database (`rapport_bench` on the local PostgreSQL) holding
 * N synthetic members for the search benchmark (bench/search.ts), shaped like real sign-ups:
 * places drawn by population, a realistic mix of genders, ages and orientations, basics with
 * their share of "unanswered", privacy settings, some deactivated / shadow-banned /
 * verification-required members, photos for ~70 %, 0–300 answers each with the personality
 * sums and vectors computed by the project's own maths (src/services/personality/maths.ts), clubs with
 * power-law sizes, skips and messaged pairs.
 *
 * Deterministic for a given `--seed`. Rows are sent as arrays and expanded server-side with
 * `unnest` (no COPY client is installed), members in uuid order so primary-key inserts append.
 *
 *   tsx bench/search-data.ts [--members 200000] [--seed 1] [--reset] [--db rapport_bench]
 *
 * Without `--reset` an existing database is migrated and refilled only when it does not already
 * hold this member count, seed and generator version; `--reset` drops and recreates it.
 * BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) names the server.
 */

/** Bump when the generated data changes shape, so an old bench database is refilled. */
const generatorVersion = 2
const markerPrefix = 'rapport search bench: '

export const defaultAdminUrl = 'postgres://postgres@127.0.0.1:5432/postgres'
export const defaultBenchDb = 'rapport_bench'

/** URL of database `db` on the server of `adminUrl`. */
export function databaseUrlFor(adminUrl: string, db: string): string {
  return Object.assign(new URL(adminUrl), { pathname: `/${db}` }).toString()
}

/** sfc32: a small, fast, seedable generator (the data must be reproducible, so not Math.random). */
export function seededRandom(seed: number): () => number {
  let a = 0x9e3779b9
  let b = 0x243f6a88
  let c = 0xb7e15162
  let d = seed >>> 0
  const next = () => {
    a >>>= 0
    b >>>= 0
    c >>>= 0
    d >>>= 0
    const t = (a + b + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) >>> 0
    return t / 4294967296
  }
  for (let i = 0; i < 16; i++) next()
  return next
}

type Random = () => number

function normal(rand: Random): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
}

function pick<T>(rand: Random, values: readonly T[]): T {
  return values[Math.floor(rand() * values.length)]!
}

/** Weighted choice among `[value, weight]` pairs. */
function weighted<T>(rand: Random, table: readonly (readonly [T, number])[]): T {
  let total = 0
  for (const [, w] of table) total += w
  let r = rand() * total
  for (const [value, w] of table) {
    r -= w
    if (r < 0) return value
  }
  return table[table.length - 1]![0]
}

/** A basic profile field: null ("unanswered") with probability `nullShare`, else a weighted value. */
function basic<T>(rand: Random, nullShare: number, table: readonly (readonly [T, number])[]): T | null {
  return rand() < nullShare ? null : weighted(rand, table)
}

/** Index into a cumulative-weight array by binary search. */
function sampleCumulative(cumulative: Float64Array, rand: Random): number {
  const r = rand() * cumulative[cumulative.length - 1]!
  let lo = 0
  let hi = cumulative.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (cumulative[mid]! > r) hi = mid
    else lo = mid + 1
  }
  return lo
}

function uuid(rand: Random): string {
  let hex = ''
  for (let i = 0; i < 4; i++)
    hex += Math.floor(rand() * 4294967296)
      .toString(16)
      .padStart(8, '0')
  const v = ((parseInt(hex[16]!, 16) & 3) | 8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${v}${hex.slice(17, 20)}-${hex.slice(20)}`
}

function hex64(rand: Random): string {
  let out = ''
  for (let i = 0; i < 8; i++)
    out += Math.floor(rand() * 4294967296)
      .toString(16)
      .padStart(8, '0')
  return out
}

/** Full years between `dob` and `now`, as Postgres' `date_part('year', age(now, dob))`. */
function ageOn(dob: Date, now: Date): number {
  let age = now.getUTCFullYear() - dob.getUTCFullYear()
  const m = now.getUTCMonth() - dob.getUTCMonth()
  if (m < 0 || (m === 0 && now.getUTCDate() < dob.getUTCDate())) age--
  return age
}

/** A Postgres array literal of numbers (float4 columns: 7 significant digits are exact enough). */
function realArray(values: readonly number[]): string {
  return `{${values.map((x) => Number(x.toPrecision(7))).join(',')}}`
}

const firstNames = [
  'Ada', 'Alex', 'Amara', 'Ana', 'Andrei', 'Aisha', 'Ben', 'Camille', 'Carlos', 'Chen', 'Chloe',
  'Daniel', 'Dev', 'Elena', 'Emma', 'Farah', 'Felix', 'Grace', 'Hana', 'Hugo', 'Ines', 'Ivan',
  'Jade', 'James', 'Jin', 'Kai', 'Kofi', 'Lara', 'Leo', 'Lucia', 'Malik', 'Maria', 'Mateo', 'Maya',
  'Mei', 'Noah', 'Nora', 'Olga', 'Omar', 'Priya', 'Rafael', 'Rania', 'Ravi', 'Rosa', 'Sam', 'Sara',
  'Sofia', 'Tariq', 'Theo', 'Uma', 'Victor', 'Wei', 'Yara', 'Yusuf', 'Zoe', 'Zanele',
] // prettier-ignore

const clubWordsA = [
  'urban', 'night', 'slow', 'wild', 'indie', 'vintage', 'weekend', 'morning', 'coastal', 'mountain',
  'vegan', 'retro', 'board', 'street', 'jazz', 'classic', 'sci-fi', 'salsa', 'trail', 'chess',
] // prettier-ignore
const clubWordsB = [
  'hikers', 'readers', 'runners', 'cooks', 'gamers', 'cyclists', 'climbers', 'dancers', 'swimmers',
  'painters', 'bakers', 'gardeners', 'photographers', 'travellers', 'film buffs', 'poets',
  'coffee lovers', 'birdwatchers', 'surfers', 'knitters',
] // prettier-ignore

const genders = [
  ['man', 46],
  ['woman', 46],
  ['non-binary', 3],
  ['agender', 0.5],
  ['intersex', 0.3],
  ['transgender', 1],
  ['trans-woman', 1],
  ['trans-man', 1],
  ['other', 1.2],
] as const
const ethnicities = [
  ['white-caucasian', 34],
  ['east-asian', 14],
  ['south-asian', 14],
  ['hispanic-latino', 11],
  ['black-african-descent', 11],
  ['southeast-asian', 7],
  ['middle-eastern', 5],
  ['native-american', 1],
  ['pacific-islander', 1],
  ['other', 2],
] as const
const lookingFor = [
  ['long-term-dating', 45],
  ['short-term-dating', 20],
  ['friends', 20],
  ['marriage', 15],
] as const
const drinking = [
  ['sometimes', 55],
  ['often', 15],
  ['never', 30],
] as const
const relationshipStatuses = [
  ['single', 80],
  ['divorced', 8],
  ['seeing-someone', 4],
  ['married', 2],
  ['widowed', 1],
  ['engaged', 0.5],
  ['other', 4.5],
] as const
const religions = [
  ['christian', 30],
  ['agnostic', 18],
  ['atheist', 17],
  ['muslim', 12],
  ['hindu', 8],
  ['buddhist', 5],
  ['jewish', 2],
  ['zoroastrian', 0.2],
  ['other', 7.8],
] as const
const starSigns = [
  'aquarius', 'aries', 'cancer', 'capricorn', 'gemini', 'leo', 'libra', 'pisces', 'sagittarius',
  'scorpio', 'taurus', 'virgo',
].map((s) => [s, 1] as const) // prettier-ignore

const imperialCountries = new Set(['US', 'GB', 'LR', 'MM'])
const distancesKm = [
  [null, 20],
  [10, 8],
  [25, 12],
  [50, 16],
  [100, 16],
  [200, 10],
  [500, 8],
  [1000, 5],
  [3000, 5],
] as const

interface Place {
  id: number
  latitude: number
  longitude: number
  countryCode: string
  verificationRequired: boolean
}

export interface SearchDataSummary {
  /** False when the database already held this data set and nothing was written. */
  loaded: boolean
  members: number
  answers: number
  clubs: number
  memberClubs: number
  skips: number
  messaged: number
  photos: number
  timingsMs: Record<string, number>
}

/** Rows of one table for a chunk of members, column-wise, sent as one `unnest` insert. */
type Columns = Record<string, unknown[]>

function columns(...names: string[]): Columns {
  return Object.fromEntries(names.map((n) => [n, []]))
}

async function insertColumns(client: pg.Client, sqlText: string, cols: Columns): Promise<void> {
  const values = Object.values(cols)
  if ((values[0]?.length ?? 0) === 0) return
  await client.query(sqlText, values)
}

const insertUsers = `insert into users (id, email, email_display, name, role, status, sign_in_count,
    last_sign_in_at, last_online_at, deactivated_at, deactivation_reason, created_at, updated_at)
  select id, email, email, name, 'member', status, 1, last_online, last_online, deactivated_at,
    reason, created, created
  from unnest($1::uuid[], $2::text[], $3::text[], $4::user_status[], $5::timestamptz[],
    $6::timestamptz[], $7::text[], $8::timestamptz[])
    as x(id, email, name, status, last_online, deactivated_at, reason, created)`

const insertProfiles = `insert into profiles (user_id, url_slug, date_of_birth, place_id, latitude, longitude,
    gender, seeking_genders, height_cm, orientation, ethnicity, looking_for, smoking, drinking, drugs,
    long_distance, relationship_status, has_kids, wants_kids, exercise, religion, star_sign, units,
    privacy_verification_level, show_my_location, show_my_age, hide_me_from_strangers,
    browse_invisibly, public_profile, verification_level, verified_age, verified_gender,
    verification_required, shadow_banned_at, personality, presence_score, absence_score,
    answer_count, onboarded_at, created_at, updated_at, has_photo, wants_genders, wants_min_age,
    wants_max_age, wants_max_distance_km)
  select id, slug, dob, place_id, lat, lon, gender, seeking::gender[], height, orientation, ethnicity,
    looking_for, smoking, drinking, drugs, long_distance, relationship_status, has_kids, wants_kids,
    exercise, religion, star_sign, units, privacy_level, show_location, show_age, hide, invisible,
    public, level, level <> 'none', level <> 'none', verification_required, shadow_banned_at,
    personality::real[], presence::real[], absence::real[], answer_count, created + interval '20 minutes',
    created, created, has_photo, seeking::gender[], min_age, max_age, max_km
  from unnest($1::uuid[], $2::text[], $3::date[], $4::int[], $5::float8[], $6::float8[], $7::gender[],
    $8::text[], $9::smallint[], $10::orientation[], $11::ethnicity[], $12::looking_for[], $13::yes_no[],
    $14::frequency[], $15::yes_no[], $16::yes_no[], $17::relationship_status[], $18::yes_no[],
    $19::yes_no_maybe[], $20::frequency[], $21::religion[], $22::star_sign[], $23::units[],
    $24::verification_level[], $25::bool[], $26::bool[], $27::bool[], $28::bool[], $29::bool[],
    $30::verification_level[], $31::bool[], $32::timestamptz[], $33::text[], $34::text[], $35::text[],
    $36::int[], $37::timestamptz[], $38::bool[], $39::smallint[], $40::smallint[], $41::int[])
    as x(id, slug, dob, place_id, lat, lon, gender, seeking, height, orientation, ethnicity, looking_for,
      smoking, drinking, drugs, long_distance, relationship_status, has_kids, wants_kids, exercise,
      religion, star_sign, units, privacy_level, show_location, show_age, hide, invisible, public, level,
      verification_required, shadow_banned_at, personality, presence, absence, answer_count, created,
      has_photo, min_age, max_age, max_km)`

const insertPreferences = `insert into search_preferences (user_id, genders, min_age, max_age, max_distance_km)
  select id, genders::gender[], min_age, max_age, max_km
  from unnest($1::uuid[], $2::text[], $3::smallint[], $4::smallint[], $5::int[])
    as x(id, genders, min_age, max_age, max_km)`

const insertPhotos = `insert into photos (id, user_id, position, blurhash, width, height, content_hash, verified)
  select id, user_id, 1, 'LEHV6nWB2yk8pyo0adR*.7kCMdnj', 900, 900, hash, verified
  from unnest($1::text[], $2::uuid[], $3::text[], $4::bool[]) as x(id, user_id, hash, verified)`

// One row per member; the answers travel as array literals and are expanded here, so each
// member id crosses the wire once rather than once per answer.
const insertAnswers = `insert into answers (user_id, question_id, answer, is_public, answered_at)
  select m.id, a.q, a.answer, a.public, m.last_at - (a.n * interval '3 minutes')
  from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
    as m(id, qs, answers, publics, last_at)
  cross join lateral unnest(m.qs::smallint[], m.answers::bool[], m.publics::bool[])
    with ordinality as a(q, answer, public, n)`

const insertMemberClubs = `insert into member_clubs (user_id, club_name, joined_at)
  select id, club, joined from unnest($1::uuid[], $2::text[], $3::timestamptz[]) as x(id, club, joined)`

const insertPairs = (table: 'skips' | 'messaged') =>
  table === 'skips'
    ? `insert into skips (subject_id, object_id, reported, report_reason, created_at)
       select s, o, r, reason, at from unnest($1::uuid[], $2::uuid[], $3::bool[], $4::text[], $5::timestamptz[])
         as x(s, o, r, reason, at) on conflict do nothing`
    : `insert into messaged (subject_id, object_id, created_at)
       select s, o, at from unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) as x(s, o, at)
       on conflict do nothing`

/** Per question: its sparse effects as (trait position, presence/absence for yes and no). */
interface QuestionModel {
  id: number
  /** Answer bias: how much more than the traits alone people tend to say yes. */
  bias: number
  effects: { pos: number; weight: number }[]
  yes: { pos: number; presence: number; absence: number }[]
  no: { pos: number; presence: number; absence: number }[]
}

function questionModels(rand: Random): { models: QuestionModel[]; traitCount: number } {
  const traitCount = presenceAbsence(questions[0]!).presenceGivenYes.length
  const models = questions
    .filter((q) => !q.retired)
    .map((q) => {
      const pa = presenceAbsence(q)
      // Stored as real (float4): round the weights as Postgres holds them.
      const side = (presence: number[], absence: number[]) =>
        presence
          .map((p, pos) => {
            const pf = Math.fround(p)
            const af = Math.fround(absence[pos]!)
            return { pos, presence: Math.max(pf - af, 0), absence: Math.max(af - pf, 0) }
          })
          .filter((e) => e.presence !== 0 || e.absence !== 0)
      const effects = pa.presenceGivenYes
        .map((p, pos) => ({ pos, weight: p - pa.absenceGivenYes[pos]! }))
        .filter((e) => e.weight !== 0)
      return {
        id: q.id,
        bias: normal(rand) * 0.4,
        effects,
        yes: side(pa.presenceGivenYes, pa.absenceGivenYes),
        no: side(pa.presenceGivenNo, pa.absenceGivenNo),
      }
    })
  return { models, traitCount }
}

/** How many questions a member has answered: many only take the quiz, a long tail answers hundreds. */
function answerCount(rand: Random, available: number): number {
  const r = rand()
  if (r < 0.22) return 0
  if (r < 0.4) return 1 + Math.floor(rand() * 10)
  return Math.min(available, 300, 10 + Math.floor(290 * rand() ** 3))
}

/**
 * Fill `databaseUrl` (migrated) with `members` synthetic members. Skipped when the database's
 * marker says it already holds exactly this data set, unless `force`.
 *
 * @example
 * await generateSearchData({ databaseUrl, members: 500 }) // { loaded: true, members: 500, … }
 */
export async function generateSearchData(opts: {
  databaseUrl: string
  members: number
  seed?: number
  force?: boolean
  log?: (line: string) => void
}): Promise<SearchDataSummary> {
  const seed = opts.seed ?? 1
  const log = opts.log ?? (() => {})
  const marker = `${markerPrefix}members=${opts.members} seed=${seed} generator=${generatorVersion} questions=${personalityDataVersion}`
  const timingsMs: Record<string, number> = {}
  let started = performance.now()
  const step = (name: string) => {
    const now = performance.now()
    timingsMs[name] = Math.round(now - started)
    log(`${name.padEnd(28)} ${(timingsMs[name] / 1000).toFixed(1)} s`)
    started = now
  }

  const client = new pg.Client({ connectionString: opts.databaseUrl })
  await client.connect()
  try {
    const dbName = (await client.query<{ db: string }>('select current_database() as db')).rows[0]!.db
    const current = await client.query<{ marker: string | null }>(
      `select shobj_description(oid, 'pg_database') as marker from pg_database where datname = $1`,
      [dbName],
    )
    if (!opts.force && current.rows[0]?.marker === marker) {
      const counts = await client.query<Record<string, number>>(
        `select (select count(*)::int from users) as members, (select count(*)::int from answers) as answers,
           (select count(*)::int from clubs) as clubs, (select count(*)::int from member_clubs) as member_clubs,
           (select count(*)::int from skips) as skips, (select count(*)::int from messaged) as messaged,
           (select count(*)::int from photos) as photos`,
      )
      const c = counts.rows[0]!
      log(`already loaded (${marker}); --reset to rebuild`)
      return {
        loaded: false,
        members: c.members!,
        answers: c.answers!,
        clubs: c.clubs!,
        memberClubs: c.member_clubs!,
        skips: c.skips!,
        messaged: c.messaged!,
        photos: c.photos!,
        timingsMs,
      }
    }

    // The load truncates every member table: never on a database holding anyone but bench members.
    const foreign = await client.query(
      `select 1 from users where email not like '%@bench.rapport.test' limit 1`,
    )
    if (foreign.rowCount) {
      throw new Error(`${dbName} holds accounts the generator did not make; use a dedicated database`)
    }

    // Triggers off for the load (FK checks, the answer counters and any club counters): the data
    // is consistent by construction and the counters are set in one pass at the end.
    await client.query(`set session_replication_role = replica`)
    await client.query(`set synchronous_commit = off`)
    await client.query(`comment on database ${client.escapeIdentifier(dbName)} is null`)
    await client.query(`truncate users, clubs cascade`)
    step('truncate')

    const rand = seededRandom(seed)
    const now = new Date()
    const nowMs = now.getTime()
    const day = 86_400_000

    const placeRows = await client.query<{
      id: number
      latitude: number
      longitude: number
      country_code: string
      verification_required: boolean
      population: number
    }>(
      `select id, latitude, longitude, country_code, verification_required, population from places order by id`,
    )
    if (placeRows.rows.length === 0) throw new Error('No places: run the migrate step first')
    const places: Place[] = placeRows.rows.map((p) => ({
      id: p.id,
      latitude: p.latitude,
      longitude: p.longitude,
      countryCode: p.country_code,
      verificationRequired: p.verification_required,
    }))
    const placeWeights = new Float64Array(placeRows.rows.length)
    let acc = 0
    placeRows.rows.forEach((p, i) => {
      acc += Math.max(p.population, 1)
      placeWeights[i] = acc
    })

    const { models, traitCount } = questionModels(rand)
    const fixed = models.filter((q) => q.id <= 10)
    const rest = models.filter((q) => q.id > 10)

    // Member ids, sorted so every primary-key insert appends; places assigned up front because
    // skips and messages favour people of the same place.
    const n = opts.members
    const ids = Array.from({ length: n }, () => uuid(rand)).sort()
    const placeOf = new Int32Array(n)
    const byPlace = new Map<number, number[]>()
    for (let i = 0; i < n; i++) {
      const p = sampleCumulative(placeWeights, rand)
      placeOf[i] = p
      const list = byPlace.get(p)
      if (list) list.push(i)
      else byPlace.set(p, [i])
    }
    const active = new Uint8Array(n)

    const clubNames: string[] = []
    for (const a of clubWordsA) for (const b of clubWordsB) clubNames.push(`${a} ${b}`)
    // Shuffle, then Zipf-like popularity by rank.
    for (let i = clubNames.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1))
      ;[clubNames[i], clubNames[j]] = [clubNames[j]!, clubNames[i]!]
    }
    const clubCount = Math.min(clubNames.length, Math.max(20, Math.round(n / 500)))
    clubNames.length = clubCount
    const clubWeights = new Float64Array(clubCount)
    acc = 0
    for (let k = 0; k < clubCount; k++) {
      acc += 1 / (k + 5) ** 1.1
      clubWeights[k] = acc
    }
    await client.query(
      `insert into clubs (name, created_at) select name, now() - interval '400 days' from unnest($1::text[]) as name`,
      [clubNames],
    )
    step('places, questions, clubs')

    let answerTotal = 0
    let photoTotal = 0
    let memberClubTotal = 0
    const chunk = 5000
    const generateTimer = { ms: 0 }
    for (let start = 0; start < n; start += chunk) {
      const t0 = performance.now()
      const users = columns(
        'id',
        'email',
        'name',
        'status',
        'lastOnline',
        'deactivatedAt',
        'reason',
        'created',
      )
      const prof = columns(
        'id', 'slug', 'dob', 'place', 'lat', 'lon', 'gender', 'seeking', 'height', 'orientation',
        'ethnicity', 'lookingFor', 'smoking', 'drinking', 'drugs', 'longDistance', 'relationship',
        'hasKids', 'wantsKids', 'exercise', 'religion', 'starSign', 'units', 'privacy', 'showLocation',
        'showAge', 'hide', 'invisible', 'public', 'level', 'verificationRequired', 'shadowBanned',
        'personality', 'presence', 'absence', 'answerCount', 'created', 'hasPhoto', 'wantsMinAge',
        'wantsMaxAge', 'wantsMaxKm',
      ) // prettier-ignore
      const prefs = columns('id', 'genders', 'minAge', 'maxAge', 'maxKm')
      const photos = columns('id', 'userId', 'hash', 'verified')
      const ans = columns('id', 'qs', 'answers', 'publics', 'lastAt')
      const clubs = columns('id', 'club', 'joined')

      for (let i = start; i < Math.min(n, start + chunk); i++) {
        const id = ids[i]!
        const place = places[placeOf[i]!]!
        const gender = weighted(rand, genders)
        const name = pick(rand, firstNames)
        const created = nowMs - Math.floor(rand() * 3 * 365 * day)
        const deactivated = rand() < 0.05
        active[i] = deactivated ? 0 : 1
        const lastOnline = deactivated
          ? created + rand() * (nowMs - created) * 0.5
          : Math.max(created, nowMs - Math.floor(-Math.log(1 - rand()) * 7 * day))
        users.id!.push(id)
        users.email!.push(`member-${i + 1}@bench.rapport.test`)
        users.name!.push(name)
        users.status!.push(deactivated ? 'deactivated' : 'active')
        users.lastOnline!.push(new Date(lastOnline).toISOString())
        users.deactivatedAt!.push(deactivated ? new Date(lastOnline + 30 * day).toISOString() : null)
        users.reason!.push(deactivated ? (rand() < 0.6 ? 'inactivity' : 'user') : null)
        users.created!.push(new Date(created).toISOString())

        // Ages 18–80, most members in their twenties and thirties.
        const age = 18 + Math.floor(62 * rand() ** 1.9)
        const dob = new Date(nowMs - (age * 365.25 + rand() * 364) * day)
        const realAge = Math.max(18, ageOn(dob, now))
        let orientation: string
        let seeking: string[]
        const r = rand()
        if (gender === 'man' || gender === 'woman') {
          const other = gender === 'man' ? 'woman' : 'man'
          if (r < 0.8) [orientation, seeking] = ['straight', [other]]
          else if (r < 0.88) [orientation, seeking] = [gender === 'man' ? 'gay' : 'lesbian', [gender]]
          else if (r < 0.97) [orientation, seeking] = ['bisexual', ['man', 'woman']]
          else [orientation, seeking] = ['pansexual', genders.map(([g]) => g)]
        } else if (r < 0.5) {
          ;[orientation, seeking] = ['pansexual', genders.map(([g]) => g)]
        } else {
          orientation = pick(rand, ['bisexual', 'queer-other', 'asexual', 'demisexual'])
          if (orientation === 'queer-other') orientation = 'other'
          seeking = ['man', 'woman', 'non-binary'].filter(() => rand() < 0.6)
          if (seeking.length === 0) seeking = ['non-binary']
        }

        const heightMean = gender === 'man' ? 178 : gender === 'woman' ? 165 : 171
        const height =
          rand() < 0.3 ? null : Math.round(Math.min(210, Math.max(140, heightMean + normal(rand) * 7)))
        const hasPhoto = rand() < 0.7
        const level = weighted(rand, [
          ['none', 55],
          ['basics', 30],
          ['photos', hasPhoto ? 15 : 0],
        ] as const)
        const hasKids = basic(rand, 0.35, [
          ['no', realAge < 30 ? 85 : 45],
          ['yes', realAge < 30 ? 15 : 55],
        ])

        // Answers: latent traits, the fixed first questions in order, then a per-member shuffle.
        const latent = Array.from({ length: traitCount }, () => normal(rand) * 0.6)
        const count = answerCount(rand, models.length)
        const order = count > fixed.length ? rest.slice() : []
        const picked: QuestionModel[] = fixed.slice(0, Math.min(count, fixed.length))
        for (let k = 0; picked.length < count; k++) {
          const j = k + Math.floor(rand() * (order.length - k))
          ;[order[k], order[j]] = [order[j]!, order[k]!]
          picked.push(order[k]!)
        }
        const presence = new Array<number>(traitCount).fill(0)
        const absence = new Array<number>(traitCount).fill(0)
        let yesNo = 0
        const answerValues: string[] = []
        const publicValues: string[] = []
        for (const q of picked) {
          let score = q.bias
          for (const e of q.effects) score += e.weight * latent[e.pos]!
          if (rand() < 0.04) {
            answerValues.push('NULL')
          } else {
            const yes = rand() < 1 / (1 + Math.exp(-3 * score))
            for (const e of yes ? q.yes : q.no) {
              presence[e.pos]! += e.presence
              absence[e.pos]! += e.absence
            }
            yesNo++
            answerValues.push(yes ? 't' : 'f')
          }
          publicValues.push(rand() < 0.6 ? 't' : 'f')
        }
        if (picked.length > 0) {
          ans.id!.push(id)
          ans.qs!.push(`{${picked.map((q) => q.id).join(',')}}`)
          ans.answers!.push(`{${answerValues.join(',')}}`)
          ans.publics!.push(`{${publicValues.join(',')}}`)
          ans.lastAt!.push(new Date(Math.min(nowMs, lastOnline)).toISOString())
        }
        answerTotal += picked.length

        prof.id!.push(id)
        prof.slug!.push(`${name.toLowerCase()}-${i + 1}`)
        prof.dob!.push(dob.toISOString().slice(0, 10))
        prof.place!.push(place.id)
        prof.lat!.push(place.latitude)
        prof.lon!.push(place.longitude)
        prof.gender!.push(gender)
        prof.seeking!.push(`{${seeking.join(',')}}`)
        prof.height!.push(height)
        prof.orientation!.push(rand() < 0.25 ? null : orientation)
        prof.ethnicity!.push(basic(rand, 0.3, ethnicities))
        prof.lookingFor!.push(basic(rand, 0.25, lookingFor))
        prof.smoking!.push(
          basic(rand, 0.35, [
            ['no', 80],
            ['yes', 20],
          ]),
        )
        prof.drinking!.push(basic(rand, 0.35, drinking))
        prof.drugs!.push(
          basic(rand, 0.45, [
            ['no', 88],
            ['yes', 12],
          ]),
        )
        prof.longDistance!.push(
          basic(rand, 0.5, [
            ['no', 60],
            ['yes', 40],
          ]),
        )
        prof.relationship!.push(basic(rand, 0.3, relationshipStatuses))
        prof.hasKids!.push(hasKids)
        prof.wantsKids!.push(
          basic(rand, 0.4, [
            ['yes', 40],
            ['no', 30],
            ['maybe', 30],
          ]),
        )
        prof.exercise!.push(
          basic(rand, 0.35, [
            ['often', 35],
            ['sometimes', 50],
            ['never', 15],
          ]),
        )
        prof.religion!.push(basic(rand, 0.4, religions))
        prof.starSign!.push(basic(rand, 0.5, starSigns))
        prof.units!.push(imperialCountries.has(place.countryCode) ? 'imperial' : 'metric')
        prof.privacy!.push(
          weighted(rand, [
            ['none', 88],
            ['basics', 8],
            ['photos', 4],
          ] as const),
        )
        prof.showLocation!.push(rand() >= 0.05)
        prof.showAge!.push(rand() >= 0.04)
        prof.hide!.push(rand() < 0.03)
        prof.invisible!.push(rand() < 0.02)
        prof.public!.push(rand() < 0.2)
        prof.level!.push(level)
        prof.verificationRequired!.push(place.verificationRequired || rand() < 0.01)
        prof.shadowBanned!.push(rand() < 0.005 ? new Date(lastOnline).toISOString() : null)
        prof.personality!.push(yesNo > 0 ? realArray(personalityVector(presence, absence, yesNo)) : null)
        prof.presence!.push(yesNo > 0 ? realArray(presence) : null)
        prof.absence!.push(yesNo > 0 ? realArray(absence) : null)
        prof.answerCount!.push(yesNo)
        prof.created!.push(new Date(created).toISOString())

        const range = defaultAgeRange(realAge)
        prefs.id!.push(id)
        prefs.genders!.push(`{${seeking.join(',')}}`)
        prefs.minAge!.push(range.minAge)
        prefs.maxAge!.push(range.maxAge)
        prefs.maxKm!.push(weighted(rand, distancesKm))
        // Search's copies on the profile row (migration 0020's triggers are off during the load).
        prof.hasPhoto!.push(hasPhoto)
        prof.wantsMinAge!.push(range.minAge)
        prof.wantsMaxAge!.push(range.maxAge)
        prof.wantsMaxKm!.push(prefs.maxKm![prefs.maxKm!.length - 1])

        if (hasPhoto) {
          photos.id!.push(hex64(rand))
          photos.userId!.push(id)
          photos.hash!.push(hex64(rand))
          photos.verified!.push(level === 'photos')
          photoTotal++
        }

        if (rand() >= 0.45) {
          const k = Math.min(15, 1 + Math.floor(-Math.log(1 - rand()) * 2.5))
          const mine = new Set<number>()
          for (let tries = 0; mine.size < k && tries < k * 4; tries++) {
            mine.add(sampleCumulative(clubWeights, rand))
          }
          for (const c of mine) {
            clubs.id!.push(id)
            clubs.club!.push(clubNames[c]!)
            clubs.joined!.push(new Date(created + rand() * (nowMs - created)).toISOString())
          }
          memberClubTotal += mine.size
        }
      }
      generateTimer.ms += performance.now() - t0

      await client.query('begin')
      await insertColumns(client, insertUsers, users)
      await insertColumns(client, insertProfiles, prof)
      await insertColumns(client, insertPreferences, prefs)
      await insertColumns(client, insertPhotos, photos)
      await insertColumns(client, insertAnswers, ans)
      await insertColumns(client, insertMemberClubs, clubs)
      await client.query('commit')
      const done = Math.min(n, start + chunk)
      if (done % 50_000 === 0 || done === n) log(`  members ${done}/${n}, answers ${answerTotal}`)
    }
    timingsMs['generate (JS, inside members)'] = Math.round(generateTimer.ms)
    log(`  of which generating rows in JS: ${(generateTimer.ms / 1000).toFixed(1)} s`)
    step('members + answers')

    // Skips and messages: mostly between people of the same place (who meet in search).
    const someoneNear = (i: number): number => {
      const local = byPlace.get(placeOf[i]!)!
      return local.length > 1 && rand() < 0.7
        ? local[Math.floor(rand() * local.length)]!
        : Math.floor(rand() * n)
    }
    let skipTotal = 0
    let messagedTotal = 0
    for (const table of ['skips', 'messaged'] as const) {
      let pairs = table === 'skips' ? columns('s', 'o', 'r', 'reason', 'at') : columns('s', 'o', 'at')
      const flush = async () => {
        await insertColumns(client, insertPairs(table), pairs)
        pairs = table === 'skips' ? columns('s', 'o', 'r', 'reason', 'at') : columns('s', 'o', 'at')
      }
      for (let i = 0; i < n; i++) {
        const share = table === 'skips' ? 0.3 : 0.2
        if (rand() >= share) continue
        const k = table === 'skips' ? 1 + Math.floor(rand() * 30) : 1 + Math.floor(rand() * 10)
        const seen = new Set<number>()
        for (let j = 0; j < k; j++) {
          const o = someoneNear(i)
          if (o === i || seen.has(o)) continue
          seen.add(o)
          pairs.s!.push(ids[i])
          pairs.o!.push(ids[o])
          if (table === 'skips') {
            const reported = rand() < 0.02
            pairs.r!.push(reported)
            pairs.reason!.push(reported ? pick(rand, ['spam', 'rude messages', 'fake profile']) : null)
          }
          pairs.at!.push(new Date(nowMs - Math.floor(rand() * 180 * day)).toISOString())
        }
        if (table === 'skips') skipTotal += seen.size
        else messagedTotal += seen.size
        if ((pairs.s?.length ?? 0) >= 50_000) await flush()
      }
      await flush()
    }
    step('skips + messaged')

    // Feed events (generator 2): 30 % of members did something in the last 45 days — added a
    // photo when they have one, else updated their bio — at a time fixed by their id; every
    // member's feed time is then their latest event, or joining. Written while triggers are off,
    // so profiles.last_event_* are set here the way the triggers keep them.
    await client.query(
      `insert into feed_events (user_id, kind, at, photo_id, added_text)
       select p.user_id, case when ph.id is not null then 'added-photo' else 'updated-bio' end::feed_event_kind,
         now() - (abs(hashtext(p.user_id::text || 'at')) % (45 * 86400)) * interval '1 second',
         ph.id, case when ph.id is null then 'A few new lines about me' end
       from profiles p
       left join lateral (select id from photos where user_id = p.user_id and position > 0
         order by position limit 1) ph on true
       where p.onboarded_at is not null and abs(hashtext(p.user_id::text || 'event')) % 10 < 3`,
    )
    await client.query(
      `update profiles p set last_event_at = coalesce(e.at, p.onboarded_at), last_event_id = e.id
       from profiles q
       left join lateral (select id, at from feed_events where user_id = q.user_id order by id desc limit 1) e on true
       where q.user_id = p.user_id and p.onboarded_at is not null`,
    )
    step('feed events')

    await client.query(`update questions set count_yes = 0, count_no = 0`)
    await client.query(
      `update questions q set count_yes = c.yes, count_no = c.no
       from (select question_id, count(*) filter (where answer)::int as yes,
               count(*) filter (where not answer)::int as no
             from answers group by question_id) c
       where c.question_id = q.id`,
    )
    await client.query(
      `update clubs c set member_count = coalesce(x.n, 0)
       from (select club_name, count(*)::int as n from member_clubs m
             join users u on u.id = m.user_id and u.status = 'active' and u.deleted_at is null
             group by club_name) x
       where x.club_name = c.name`,
    )
    await client.query(`set session_replication_role = origin`)
    step('question + club counters')

    // VACUUM as well as ANALYZE: a freshly loaded table has no visibility map, so index-only
    // scans would visit the heap until autovacuum comes by; production tables are vacuumed.
    await client.query(
      `vacuum (analyze) users, profiles, search_preferences, photos, answers, clubs, member_clubs, skips,
         messaged, questions, search_results, feed_events`,
    )
    step('vacuum analyze')
    await client.query(
      `comment on database ${client.escapeIdentifier(dbName)} is ${client.escapeLiteral(marker)}`,
    )
    return {
      loaded: true,
      members: n,
      answers: answerTotal,
      clubs: clubCount,
      memberClubs: memberClubTotal,
      skips: skipTotal,
      messaged: messagedTotal,
      photos: photoTotal,
      timingsMs,
    }
  } finally {
    await client.end()
  }
}

/**
 * Create (or with `reset`, drop and recreate) database `db` on the server of `adminUrl` and
 * apply the migrations (which also load places and the question bank). Returns its URL.
 */
export async function prepareBenchDatabase(adminUrl: string, db: string, reset: boolean): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(db) || db.startsWith('rapport_test')) {
    throw new Error(`Refusing database name ${db}: use a plain name of your own, not rapport_test*`)
  }
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    if (reset) await admin.query(`drop database if exists ${db} with (force)`)
    const exists = await admin.query('select 1 from pg_database where datname = $1', [db])
    if (exists.rowCount === 0) await admin.query(`create database ${db}`)
  } finally {
    await admin.end()
  }
  const url = databaseUrlFor(adminUrl, db)
  await applyMigrations(url)
  return url
}

function parseArgs(argv: string[]): { members: number; seed: number; reset: boolean; db: string } {
  const out = { members: 200_000, seed: 1, reset: false, db: defaultBenchDb }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${arg} needs a value`)
      return v
    }
    if (arg === '--reset') out.reset = true
    else if (arg === '--members') out.members = Number(value())
    else if (arg === '--seed') out.seed = Number(value())
    else if (arg === '--db') out.db = value()
    else throw new Error(`Unknown argument ${arg} (--members N, --seed S, --reset, --db NAME)`)
  }
  if (!Number.isInteger(out.members) || out.members < 10) throw new Error('--members must be an integer ≥ 10')
  if (!Number.isInteger(out.seed)) throw new Error('--seed must be an integer')
  return out
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const run = async () => {
    const args = parseArgs(process.argv.slice(2))
    const adminUrl = process.env.BENCH_PG_URL ?? defaultAdminUrl
    const t0 = performance.now()
    const url = await prepareBenchDatabase(adminUrl, args.db, args.reset)
    console.log(
      `bench:data: database ${args.db} ready and migrated in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    )
    const summary = await generateSearchData({
      databaseUrl: url,
      members: args.members,
      seed: args.seed,
      log: (line) => console.log(`bench:data: ${line}`),
    })
    const { timingsMs: _, ...counts } = summary
    console.log(`bench:data: ${JSON.stringify(counts)}`)
    console.log(`bench:data: total ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  }
  run().catch((err: unknown) => {
    console.error('bench:data failed:', err instanceof Error ? err.message : err)
    process.exit(1)
  })
}
