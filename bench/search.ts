import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { loadavg } from 'node:os'
import pg from 'pg'
import { type SQL } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import { PgDialect } from 'drizzle-orm/pg-core'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { applyMigrations, migrationsFolder } from '../scripts/migrate'
import {
  exactRankingQuery,
  parseSearchContext,
  rebuildSearchResultsQuery,
  searchPageQuery,
  searcherContextQuery,
  type SearchContext,
} from '../src/services/search/query'
import { defaultAgeRange } from '../src/services/search/geo'
import { databaseUrlFor, defaultAdminUrl, defaultBenchDb, seededRandom } from './search-data'
import { routeBench } from './search-route'

/**
 * `npm run bench:search`: the search SQL of src/services/search/query.ts (the statements the
 * Worker runs) against the `npm run bench:data` database, timed at the database call over
 * node-postgres (loopback TCP, one connection, one statement at a time).
 *
 * ≥ 50 searchers are picked across genders, place sizes and club membership, and each is given
 * one of the filter scenarios below (written to its search_preferences / search_answer_filters
 * rows, as the filter routes store them). After a warm-up pass, every searcher runs `--rounds`
 * uncached searches (context query, then the rebuild of its ≤ 500-row list) and, after each,
 * reads cached pages 2–5. Then, per searcher, the recall of its list against the exact top 500
 * of the same ranking over every eligible member (exactRankingQuery; `--no-recall` skips it).
 * With `--route`, the same searches again as HTTP requests to `wrangler dev` over this database
 * (bench/search-route.ts; Redis at BENCH_REDIS_URL, default db 15), beside `GET /health` and the
 * statement figures of this run. Then `EXPLAIN (ANALYZE, BUFFERS)` of a typical rebuild.
 *
 *   tsx bench/search.ts [--searchers 60] [--rounds 3] [--db rapport_bench] [--seed 1]
 *     [--explain-scenario 0] [--explain-out FILE] [--json FILE] [--no-recall] [--route]
 *
 * `--explain-scenario` picks, by its index in `scenarios`, whose search is explained.
 */

type Filters = Record<string, unknown>
interface Scenario {
  name: string
  /** Needs a searcher who belongs to a club. */
  club?: boolean
  apply: (s: Searcher) => {
    genders?: string[]
    ages?: { min: number; max: number }
    distanceKm: number | null
    filters: Filters
    answers?: { questionId: number; answer: boolean; acceptUnanswered: boolean }[]
  }
}

interface Searcher {
  id: string
  gender: string
  age: number
  population: number
  seeking: string[]
  club: string | null
  answerCount: number
}

const scenarios: Scenario[] = [
  { name: 'onboarding defaults, 100 km', apply: () => ({ distanceKm: 100, filters: {} }) },
  { name: 'anywhere', apply: () => ({ distanceKm: null, filters: {} }) },
  { name: '50 km, photo only', apply: () => ({ distanceKm: 50, filters: { hasPhoto: true } }) },
  {
    name: '250 km, basics',
    apply: () => ({
      distanceKm: 250,
      filters: { smoking: ['no', 'unanswered'], drinking: ['never', 'sometimes'], drugs: ['no'] },
    }),
  },
  {
    name: '200 km, 3 Q&A filters',
    apply: () => ({
      distanceKm: 200,
      filters: {},
      answers: [
        { questionId: 2, answer: true, acceptUnanswered: false },
        { questionId: 4, answer: false, acceptUnanswered: true },
        { questionId: 7, answer: true, acceptUnanswered: true },
      ],
    }),
  },
  {
    name: '500 km, height + ethnicity',
    apply: (s) => ({
      distanceKm: 500,
      filters: {
        height: s.gender === 'woman' ? { min: 170, max: null } : { min: null, max: 175 },
        ethnicity: ['white-caucasian', 'hispanic-latino', 'south-asian', 'east-asian', 'unanswered'],
      },
    }),
  },
  { name: 'club filter', club: true, apply: (s) => ({ distanceKm: null, filters: { club: s.club } }) },
  {
    name: '100 km, hide messaged, show skipped',
    apply: () => ({ distanceKm: 100, filters: { messaged: 'hide', skipped: 'show' } }),
  },
  {
    name: 'ages 18–99, 1000 km',
    apply: () => ({ ages: { min: 18, max: 99 }, distanceKm: 1000, filters: {} }),
  },
  {
    name: 'everyone, 300 km, many filters',
    apply: () => ({
      genders: [
        'man',
        'woman',
        'non-binary',
        'agender',
        'intersex',
        'transgender',
        'trans-woman',
        'trans-man',
        'other',
      ],
      distanceKm: 300,
      filters: {
        religion: ['agnostic', 'atheist', 'unanswered'],
        wantsKids: ['yes', 'maybe', 'unanswered'],
        lookingFor: ['long-term-dating', 'marriage'],
        hasPhoto: true,
      },
      answers: [1, 3, 5, 6, 9].map((questionId, i) => ({
        questionId,
        answer: i % 2 === 0,
        acceptUnanswered: i < 3,
      })),
    }),
  },
]

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

function summarise(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b)
  const r = (x: number) => Math.round(x * 10) / 10
  return {
    n: sorted.length,
    p50: r(percentile(sorted, 50)),
    p95: r(percentile(sorted, 95)),
    p99: r(percentile(sorted, 99)),
    max: r(sorted[sorted.length - 1] ?? NaN),
    mean: r(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
  }
}

/** Searchers spread over genders × place size × club membership, reproducibly. */
async function pickSearchers(client: pg.Client, count: number): Promise<Searcher[]> {
  const { rows } = await client.query<{
    id: string
    gender: string
    age: number
    population: number
    seeking: string
    club: string | null
    answer_count: number
  }>(
    `select p.user_id as id, p.gender::text, date_part('year', age(now(), p.date_of_birth))::int as age,
       pl.population, p.seeking_genders::text as seeking, p.answer_count,
       (select min(club_name) from member_clubs m where m.user_id = p.user_id) as club
     from profiles p
     join users u on u.id = p.user_id and u.status = 'active'
     join places pl on pl.id = p.place_id
     where p.shadow_banned_at is null and not p.verification_required
     order by md5(p.user_id::text || 'searchers')
     limit 20000`,
  )
  const genderGroup = (g: string) => (g === 'man' || g === 'woman' ? g : 'other')
  const sizeGroup = (pop: number) => (pop >= 1_000_000 ? 'city' : pop >= 100_000 ? 'town' : 'small')
  // Quotas per gender group (men and women dominate, as in the data), each spread over place sizes.
  const quota: Record<string, number> = {
    man: Math.round(count * 0.42),
    woman: Math.round(count * 0.42),
  }
  quota.other = count - quota.man! - quota.woman!
  const buckets = new Map<string, typeof rows>()
  for (const row of rows) {
    const key = `${genderGroup(row.gender)}/${sizeGroup(row.population)}`
    const list = buckets.get(key) ?? []
    list.push(row)
    buckets.set(key, list)
  }
  const picked: Searcher[] = []
  for (const gender of ['man', 'woman', 'other']) {
    const sizes = ['city', 'town', 'small'].map((s) => buckets.get(`${gender}/${s}`) ?? [])
    for (let k = 0; picked.filter((p) => genderGroup(p.gender) === gender).length < quota[gender]!; k++) {
      const source = sizes[k % 3]!
      const row = source.shift()
      if (!row) {
        if (sizes.every((s) => s.length === 0)) break
        continue
      }
      picked.push({
        id: row.id,
        gender: row.gender,
        age: row.age,
        population: row.population,
        seeking: row.seeking.replace(/[{}]/g, '').split(','),
        club: row.club,
        answerCount: row.answer_count,
      })
    }
  }
  return picked
}

/** Scenario i for searcher i (a club scenario only for a club member; others shift to the next). */
function scenarioFor(s: Searcher, i: number): Scenario {
  for (let k = 0; k < scenarios.length; k++) {
    const sc = scenarios[(i + k) % scenarios.length]!
    if (!sc.club || s.club) return sc
  }
  return scenarios[0]!
}

async function applyScenario(client: pg.Client, s: Searcher, sc: Scenario): Promise<void> {
  const v = sc.apply(s)
  const ages = v.ages ?? (({ minAge, maxAge }) => ({ min: minAge, max: maxAge }))(defaultAgeRange(s.age))
  await client.query(
    `update search_preferences set genders = $2::gender[], min_age = $3, max_age = $4, max_distance_km = $5,
       filters = $6::jsonb, updated_at = now()
     where user_id = $1`,
    [s.id, v.genders ?? s.seeking, ages.min, ages.max, v.distanceKm, JSON.stringify(v.filters)],
  )
  await client.query('delete from search_answer_filters where user_id = $1', [s.id])
  for (const a of v.answers ?? []) {
    await client.query(
      `insert into search_answer_filters (user_id, question_id, answer, accept_unanswered) values ($1, $2, $3, $4)`,
      [s.id, a.questionId, a.answer, a.acceptUnanswered],
    )
  }
}

function contextOf(searcherId: string, row: unknown): SearchContext {
  const ctx = parseSearchContext(row)
  if (!ctx) throw new Error(`searcherContextQuery found no onboarded profile for ${searcherId}`)
  return ctx
}

function parseArgs(argv: string[]) {
  const out = {
    searchers: 60,
    rounds: 3,
    db: defaultBenchDb,
    explainOut: '',
    json: '',
    seed: 1,
    explain: 0,
    noRecall: false,
    route: false,
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${arg} needs a value`)
      return v
    }
    if (arg === '--searchers') out.searchers = Number(value())
    else if (arg === '--rounds') out.rounds = Number(value())
    else if (arg === '--db') out.db = value()
    else if (arg === '--explain-out') out.explainOut = value()
    else if (arg === '--json') out.json = value()
    else if (arg === '--seed') out.seed = Number(value())
    else if (arg === '--explain-scenario') out.explain = Number(value())
    else if (arg === '--no-recall') out.noRecall = true
    else if (arg === '--route') out.route = true
    else
      throw new Error(
        `Unknown argument ${arg} (--searchers N, --rounds R, --db NAME, --seed S, --explain-scenario I, --explain-out FILE, --json FILE, --no-recall, --route)`,
      )
  }
  if (!(out.searchers >= 1) || !(out.rounds >= 1)) throw new Error('--searchers and --rounds must be ≥ 1')
  return out
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const url = databaseUrlFor(process.env.BENCH_PG_URL ?? defaultAdminUrl, args.db)
  // The search's own indexes come with the migrations: bring the bench database up to date.
  const migrated = await applyMigrations(url)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const db = drizzle({ client })
  // A migration that rewrote profiles (0020 fills search's copies) leaves the visibility map
  // empty, and index-only scans would visit the table until autovacuum came by.
  if (migrated.applied > 0) await client.query('vacuum (analyze) profiles, search_preferences, photos')
  // The server backend's CPU time (utime + stime from /proc, when the server is local): wall
  // time on a busy 2-core machine includes waiting for a core, CPU time does not.
  const { rows: backend } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
  const statPath = `/proc/${backend[0]!.pid}/stat`
  const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim())
  const backendCpuMs = () => {
    if (!existsSync(statPath)) return NaN
    const stat = readFileSync(statPath, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerSecond
  }
  const timed = async (query: SQL) => {
    const cpu0 = backendCpuMs()
    const t0 = performance.now()
    const result = await db.execute(query)
    const ms = performance.now() - t0
    return { ms, cpu: backendCpuMs() - cpu0, rows: result.rows as Record<string, unknown>[] }
  }
  try {
    const { rows: size } = await client.query<{ members: number; answers: number }>(
      `select (select count(*)::int from users) as members,
         (select reltuples::bigint from pg_class where relname = 'answers') as answers`,
    )
    if (!size[0] || size[0].members < 1000) {
      throw new Error(`${args.db} holds ${size[0]?.members ?? 0} members: run npm run bench:data first`)
    }
    // drizzle applies a migration once, by timestamp: one edited after it was applied here leaves
    // this database behind what a fresh migrate would build.
    const { rows: applied } = await client.query<{ hash: string; created_at: string }>(
      'select hash, created_at from drizzle.__drizzle_migrations',
    )
    const appliedHash = new Map(applied.map((r) => [Number(r.created_at), r.hash]))
    const stale = readMigrationFiles({ migrationsFolder }).filter(
      (m) => appliedHash.get(m.folderMillis) !== m.hash,
    )
    if (stale.length > 0) {
      console.warn(
        `bench:search: warning: ${stale.length} migration(s) changed since applied to ${args.db}; ` +
          'rebuild it with npm run bench:data -- --reset',
      )
    }
    const searchers = await pickSearchers(client, args.searchers)
    const plan = searchers.map((s, i) => ({ searcher: s, scenario: scenarioFor(s, i) }))
    for (const { searcher, scenario } of plan) await applyScenario(client, searcher, scenario)
    await client.query('analyze search_preferences, search_answer_filters')
    const tally = (key: (s: Searcher) => string) => {
      const counts = new Map<string, number>()
      for (const s of searchers) counts.set(key(s), (counts.get(key(s)) ?? 0) + 1)
      return [...counts].map(([k, n]) => `${n} ${k}`).join(', ')
    }
    console.log(
      `bench:search: ${args.db}: ${size[0].members} members, ~${size[0].answers} answers; ` +
        `${migrated.applied} migration(s) applied; ${searchers.length} searchers, ${args.rounds} rounds; ` +
        `load average ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')}`,
    )
    console.log(
      `bench:search: searchers: ${tally((s) => s.gender)}; ${tally((s) =>
        s.population >= 1_000_000
          ? 'in cities ≥ 1 M'
          : s.population >= 100_000
            ? 'in towns ≥ 100 k'
            : 'in smaller places',
      )}; ${tally((s) => (s.club ? 'in a club' : 'in no club'))}`,
    )

    const uncachedContext: number[] = []
    const uncachedRebuild: number[] = []
    const uncachedTotal: number[] = []
    const firstPage: number[] = []
    const cached: number[] = []
    const perScenario = new Map<string, { rebuild: number[]; results: number[]; cpu: number }>()
    const cpu = { context: 0, rebuild: 0, firstPage: 0, cached: 0 }
    const rand = seededRandom(args.seed)

    const search = async (s: Searcher, record: boolean, scenario: string) => {
      const context = await timed(searcherContextQuery(s.id))
      const ctx = contextOf(s.id, context.rows[0])
      const rebuild = await timed(rebuildSearchResultsQuery(ctx))
      const page1 = await timed(searchPageQuery(s.id, 0, 10))
      const pages: number[] = []
      let pagesCpu = 0
      for (let page = 2; page <= 5; page++) {
        const t = await timed(searchPageQuery(s.id, (page - 1) * 10, 10))
        pages.push(t.ms)
        pagesCpu += t.cpu
      }
      if (!record) return
      cpu.context += context.cpu
      cpu.rebuild += rebuild.cpu
      cpu.firstPage += page1.cpu
      cpu.cached += pagesCpu
      uncachedContext.push(context.ms)
      uncachedRebuild.push(rebuild.ms)
      firstPage.push(page1.ms)
      uncachedTotal.push(context.ms + rebuild.ms + page1.ms)
      cached.push(...pages)
      const entry = perScenario.get(scenario) ?? { rebuild: [], results: [], cpu: 0 }
      entry.rebuild.push(rebuild.ms)
      entry.cpu += rebuild.cpu
      entry.results.push(Number(rebuild.rows[0]?.count ?? 0))
      perScenario.set(scenario, entry)
    }

    // Warm-up: a pass over a sixth of the searchers, untimed (connection, plan and cache warm-up).
    for (const { searcher, scenario } of plan.slice(0, Math.max(5, Math.ceil(plan.length / 6)))) {
      await search(searcher, false, scenario.name)
    }
    for (let round = 0; round < args.rounds; round++) {
      // Each round in a different order, so no searcher always follows the same one.
      const order = plan.map((p) => ({ p, k: rand() })).sort((a, b) => a.k - b.k)
      for (const { p } of order) await search(p.searcher, true, p.scenario.name)
    }

    // Recall: for every searcher, Rapport's list (as the last rebuild left it) against the exact
    // top 500 of the same ranking over every eligible member (exactRankingQuery: no index
    // shortcut, the mutual conditions read from search_preferences itself).
    const recall = new Map<string, { recall: number[]; exactMs: number[]; exactCount: number[] }>()
    if (!args.noRecall) {
      for (const { searcher, scenario } of plan) {
        const ctx = contextOf(searcher.id, (await db.execute(searcherContextQuery(searcher.id))).rows[0])
        await db.execute(rebuildSearchResultsQuery(ctx))
        const exact = await timed(exactRankingQuery(ctx))
        const { rows: mine } = await client.query<{ prospect_id: string }>(
          'select prospect_id from search_results where searcher_id = $1 order by position',
          [searcher.id],
        )
        const got = new Set(mine.map((r) => r.prospect_id))
        const want = exact.rows.map((r) => String(r.user_id))
        const hit = want.filter((id) => got.has(id)).length
        const entry = recall.get(scenario.name) ?? { recall: [], exactMs: [], exactCount: [] }
        entry.recall.push(want.length === 0 ? (got.size === 0 ? 1 : 0) : hit / want.length)
        entry.exactMs.push(exact.ms)
        entry.exactCount.push(want.length)
        recall.set(scenario.name, entry)
      }
    }

    const mean = (total: number, n: number) => (Math.round((total / n) * 10) / 10).toString()
    const line = (name: string, samples: number[], cpuMs: number) => {
      const s = summarise(samples)
      return `| ${name} | ${s.n} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.max} | ${s.mean} | ${mean(cpuMs, s.n)} |`
    }
    console.log(
      '\n| Call (ms) | n | p50 | p95 | p99 | max | mean | backend CPU, mean |\n| --- | --- | --- | --- | --- | --- | --- | --- |',
    )
    console.log(line('searcherContextQuery', uncachedContext, cpu.context))
    console.log(line('rebuildSearchResultsQuery (uncached search)', uncachedRebuild, cpu.rebuild))
    console.log(line('searchPageQuery, page 1 (after the rebuild)', firstPage, cpu.firstPage))
    console.log(
      line(
        'uncached first page: context + rebuild + page 1',
        uncachedTotal,
        cpu.context + cpu.rebuild + cpu.firstPage,
      ),
    )
    console.log(line('searchPageQuery, cached pages 2–5', cached, cpu.cached))
    console.log(
      '\n| Scenario | searchers × rounds | rebuild p50 ms | rebuild max ms | backend CPU, mean ms | results (median, min–max) |',
    )
    console.log('| --- | --- | --- | --- | --- | --- |')
    for (const [name, e] of perScenario) {
      const s = summarise(e.rebuild)
      const results = [...e.results].sort((a, b) => a - b)
      console.log(
        `| ${name} | ${s.n} | ${s.p50} | ${s.max} | ${mean(e.cpu, s.n)} | ${percentile(results, 50)} (${results[0]}–${results[results.length - 1]}) |`,
      )
    }

    if (recall.size > 0) {
      console.log(
        '\n| Scenario | searchers | recall vs exact top 500: mean | min | exact list size (median) | brute-force query p50 ms |',
      )
      console.log('| --- | --- | --- | --- | --- | --- |')
      const all: number[] = []
      for (const [name, e] of recall) {
        all.push(...e.recall)
        const sorted = [...e.recall].sort((a, b) => a - b)
        const m = e.recall.reduce((a, b) => a + b, 0) / e.recall.length
        console.log(
          `| ${name} | ${e.recall.length} | ${m.toFixed(4)} | ${sorted[0]!.toFixed(4)} | ${percentile(
            [...e.exactCount].sort((a, b) => a - b),
            50,
          )} | ${summarise(e.exactMs).p50} |`,
        )
      }
      console.log(
        `| all | ${all.length} | ${(all.reduce((a, b) => a + b, 0) / all.length).toFixed(4)} | ${Math.min(...all).toFixed(4)} | | |`,
      )
    }

    let route: Awaited<ReturnType<typeof routeBench>> | null = null
    if (args.route) {
      route = await routeBench({
        databaseUrl: url,
        redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15',
        searcherIds: searchers.map((x) => x.id),
        rounds: args.rounds,
        rand,
        log: (l) => console.log(`bench:search: ${l}`),
      })
      const st = { uncached: summarise(uncachedTotal), cached: summarise(cached) }
      const rt = {
        health: summarise(route.health),
        rebuild: summarise(route.rebuild),
        cached: summarise(route.cached),
      }
      const x = (a: number, b: number) => (a / b).toFixed(2)
      console.log(
        `\nThrough the route (wrangler dev, Neon and Upstash stand-ins, auth and rate limits; load average ${loadavg()
          .map((v) => v.toFixed(2))
          .join(' ')})\n`,
      )
      console.log('| ms | n | p50 | p95 | p50 ÷ statement p50 | p95 ÷ statement p95 | p50 ÷ /health p50 |')
      console.log('| --- | --- | --- | --- | --- | --- | --- |')
      console.log(`| GET /health | ${rt.health.n} | ${rt.health.p50} | ${rt.health.p95} | | | 1 |`)
      console.log(
        `| statement: context + rebuild + page 1 | ${st.uncached.n} | ${st.uncached.p50} | ${st.uncached.p95} | 1 | 1 | ${x(st.uncached.p50, rt.health.p50)} |`,
      )
      console.log(
        `| POST /api/v1/search (uncached) | ${rt.rebuild.n} | ${rt.rebuild.p50} | ${rt.rebuild.p95} | ${x(rt.rebuild.p50, st.uncached.p50)} | ${x(rt.rebuild.p95, st.uncached.p95)} | ${x(rt.rebuild.p50, rt.health.p50)} |`,
      )
      console.log(
        `| statement: cached page | ${st.cached.n} | ${st.cached.p50} | ${st.cached.p95} | 1 | 1 | ${x(st.cached.p50, rt.health.p50)} |`,
      )
      console.log(
        `| GET /api/v1/search?page=2…5 (cached) | ${rt.cached.n} | ${rt.cached.p50} | ${rt.cached.p95} | ${x(rt.cached.p50, st.cached.p50)} | ${x(rt.cached.p95, st.cached.p95)} | ${x(rt.cached.p50, rt.health.p50)} |`,
      )
    }

    // EXPLAIN of one uncached search: a big-city searcher of the chosen scenario (default: the first).
    const wanted = scenarios[args.explain] ?? scenarios[0]!
    const typical =
      plan.find((p) => p.scenario === wanted && p.searcher.population >= 1_000_000) ??
      plan.find((p) => p.scenario === wanted) ??
      plan[0]!
    const context = await db.execute(searcherContextQuery(typical.searcher.id))
    const ctx = contextOf(typical.searcher.id, context.rows[0])
    const query = new PgDialect().sqlToQuery(rebuildSearchResultsQuery(ctx))
    const explain = await client.query<{ 'QUERY PLAN': string }>(
      `explain (analyze, buffers) ${query.sql}`,
      query.params as unknown[],
    )
    const planText = explain.rows.map((r) => r['QUERY PLAN']).join('\n')
    console.log(
      `\nEXPLAIN (ANALYZE, BUFFERS) rebuildSearchResultsQuery — searcher ${typical.searcher.id} ` +
        `(${typical.searcher.gender}, ${typical.searcher.age}, place of ${typical.searcher.population} people, ` +
        `scenario "${typical.scenario.name}")\n`,
    )
    console.log(planText)
    if (args.explainOut)
      writeFileSync(
        args.explainOut,
        `${query.sql}\n\n-- params: ${JSON.stringify(query.params)}\n\n${planText}\n`,
      )
    if (args.json) {
      writeFileSync(
        args.json,
        JSON.stringify(
          {
            members: size[0].members,
            searchers: searchers.length,
            rounds: args.rounds,
            loadAverage: loadavg(),
            context: summarise(uncachedContext),
            rebuild: summarise(uncachedRebuild),
            firstPage: summarise(firstPage),
            uncachedTotal: summarise(uncachedTotal),
            cached: summarise(cached),
            backendCpuMs: cpu,
            route: route && {
              health: summarise(route.health),
              rebuild: summarise(route.rebuild),
              cached: summarise(route.cached),
            },
            scenarios: Object.fromEntries(
              [...perScenario].map(([k, e]) => [
                k,
                { rebuild: summarise(e.rebuild), results: e.results, recall: recall.get(k)?.recall ?? null },
              ]),
            ),
          },
          null,
          2,
        ),
      )
    }
  } finally {
    await client.end()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error('bench:search failed:', err instanceof Error ? err.stack : err)
    process.exit(1)
  })
}
