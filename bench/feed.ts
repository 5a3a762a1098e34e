import { loadavg } from 'node:os'
import pg from 'pg'
import { PgDialect } from 'drizzle-orm/pg-core'
import { feedQuery } from '../src/services/feed/feed-query'
import { defaultAdminUrl, databaseUrlFor, seededRandom } from './search-data'

/**
 * `npm run bench:feed`: the feed statement of src/services/feed/feed-query.ts (the one the Worker
 * runs) and the sign-in IP reputation lookup, against a `bench:data` database (generator 2 adds
 * the feed events), timed at the database call over node-postgres (loopback TCP, one connection,
 * one statement at a time). Each feed statement is paired with a baseline in the same run: a
 * primary-key read of one `users` row, so a busy machine shows in both numbers.
 *
 *   tsx bench/feed.ts [--db rapport_bench] [--viewers 40] [--rounds 3] [--ip-ranges 300000] [--explain]
 */

function percentile(sorted: number[], p: number): number {
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}
function summarise(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b)
  const r = (x: number) => Math.round(x * 100) / 100
  return {
    n: sorted.length,
    p50: r(percentile(sorted, 50)),
    p95: r(percentile(sorted, 95)),
    max: r(sorted.at(-1)!),
  }
}

function parseArgs(argv: string[]) {
  const out = { db: 'rapport_bench', viewers: 40, rounds: 3, ipRanges: 300_000, explain: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = () => argv[++i] ?? ''
    if (arg === '--db') out.db = value()
    else if (arg === '--viewers') out.viewers = Number(value())
    else if (arg === '--rounds') out.rounds = Number(value())
    else if (arg === '--ip-ranges') out.ipRanges = Number(value())
    else if (arg === '--explain') out.explain = true
    else throw new Error(`Unknown argument ${arg}`)
  }
  return out
}

async function timed(client: pg.Client, text: string, params: unknown[]) {
  const t0 = performance.now()
  const result = await client.query(text, params)
  return { ms: performance.now() - t0, rows: result.rows }
}

/** Synthetic reputation ranges (list `bench`): /32s and /24s of IPv4, /64s and /128s of IPv6. */
async function loadIpRanges(client: pg.Client, count: number) {
  const { rows } = await client.query<{ n: number }>(
    `select count(*)::int as n from ip_reputation_ranges where list = 'bench'`,
  )
  if (rows[0]!.n === count) return
  await client.query(`delete from ip_reputation_ranges where list = 'bench'`)
  const rand = seededRandom(7)
  const byte = () => Math.floor(rand() * 256)
  const hex = () => Math.floor(rand() * 65536).toString(16)
  for (let done = 0; done < count; done += 50_000) {
    const batch: string[] = []
    for (let i = done; i < Math.min(count, done + 50_000); i++) {
      const r = rand()
      if (r < 0.7) batch.push(`${byte()}.${byte()}.${byte()}.${byte()}/32`)
      else if (r < 0.85) batch.push(`${byte()}.${byte()}.${byte()}.0/24`)
      else if (r < 0.95) batch.push(`2a0${Math.floor(rand() * 10)}:${hex()}:${hex()}:${hex()}::/64`)
      else batch.push(`2a0${Math.floor(rand() * 10)}:${hex()}:${hex()}:${hex()}::${hex()}/128`)
    }
    await client.query(
      `insert into ip_reputation_ranges (list, range) select 'bench', network(r::inet) from unnest($1::text[]) r`,
      [batch],
    )
  }
  await client.query('vacuum analyze ip_reputation_ranges')
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const url = databaseUrlFor(process.env.BENCH_PG_URL ?? defaultAdminUrl, args.db)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const dialect = new PgDialect()
  try {
    const counts = await client.query<{ members: number; events: number }>(
      `select (select count(*)::int from users) as members, (select count(*)::int from feed_events) as events`,
    )
    console.log(
      `bench:feed: ${args.db}: ${JSON.stringify(counts.rows[0])}; load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    )
    const viewers = (
      await client.query<{ user_id: string }>(
        `select p.user_id from profiles p join users u on u.id = p.user_id
         where p.onboarded_at is not null and u.status = 'active' order by md5(p.user_id::text) limit $1`,
        [args.viewers],
      )
    ).rows.map((r) => r.user_id)

    const feed: number[] = []
    const next: number[] = []
    const baseline: number[] = []
    let items = 0
    const now = new Date()
    for (let round = 0; round <= args.rounds; round++) {
      for (const viewerId of viewers) {
        const first = dialect.sqlToQuery(
          feedQuery({ viewerId, before: { t: now.toISOString(), id: null }, now, earlyAdopterCutoff: null }),
        )
        const a = await timed(client, first.sql, first.params)
        const b = await timed(client, 'select id, name, status from users where id = $1', [viewerId])
        const cursor = (a.rows[0] as { window_oldest?: string } | undefined)?.window_oldest
        let c: { ms: number } | null = null
        // The cursor the statement returned: '<time>_<member id>'.
        const [t, id] = cursor?.split('_') ?? []
        const parsed = t && id ? { t, id } : null
        if (parsed) {
          const second = dialect.sqlToQuery(
            feedQuery({ viewerId, before: parsed, now, earlyAdopterCutoff: null }),
          )
          c = await timed(client, second.sql, second.params)
        }
        if (round === 0) continue // warm-up
        feed.push(a.ms)
        baseline.push(b.ms)
        if (c) next.push(c.ms)
        items += a.rows.length
      }
    }
    const f = summarise(feed)
    const n = summarise(next)
    const base = summarise(baseline)
    console.log(`\n| statement | n | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|`)
    console.log(`| feed, first page | ${f.n} | ${f.p50} | ${f.p95} | ${f.max} |`)
    console.log(`| feed, next page (before = nextBefore) | ${n.n} | ${n.p50} | ${n.p95} | ${n.max} |`)
    console.log(
      `| baseline: users row by primary key | ${base.n} | ${base.p50} | ${base.p95} | ${base.max} |`,
    )
    console.log(
      `\nfeed p50 = ${(f.p50 / base.p50).toFixed(0)}× baseline p50; ${(items / Math.max(1, f.n)).toFixed(1)} items per first page`,
    )

    if (args.explain) {
      const q = dialect.sqlToQuery(
        feedQuery({
          viewerId: viewers[0]!,
          before: { t: now.toISOString(), id: null },
          now,
          earlyAdopterCutoff: null,
        }),
      )
      const plan = await client.query<{ 'QUERY PLAN': string }>(
        `explain (analyze, buffers) ${q.sql}`,
        q.params,
      )
      console.log(`\n${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}`)
    }

    // The sign-in check: the Worker's exact statement, against `--ip-ranges` ranges.
    const t0 = performance.now()
    await loadIpRanges(client, args.ipRanges)
    console.log(`\nip ranges ready (${args.ipRanges}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    const lookup = `select list from ip_reputation_ranges
      where range >>= $1::inet and not ($1::inet <<= any($2::cidr[])) limit 1`
    const rand = seededRandom(11)
    const byte = () => Math.floor(rand() * 256)
    const ipTimes: number[] = []
    const ipBase: number[] = []
    let hits = 0
    for (let i = 0; i < 600; i++) {
      const ip =
        i % 4 === 3
          ? `2a0${i % 10}:${((i * 7919) % 65536).toString(16)}::1`
          : `${byte()}.${byte()}.${byte()}.${byte()}`
      const a = await timed(client, lookup, [ip, '{}'])
      const b = await timed(client, 'select id, name, status from users where id = $1', [
        viewers[i % viewers.length],
      ])
      if (i < 100) continue
      ipTimes.push(a.ms)
      ipBase.push(b.ms)
      if (a.rows.length) hits++
    }
    const ip = summarise(ipTimes)
    const ib = summarise(ipBase)
    console.log(`\n| statement | n | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|`)
    console.log(
      `| IP reputation lookup (${args.ipRanges} ranges, ${hits} hits) | ${ip.n} | ${ip.p50} | ${ip.p95} | ${ip.max} |`,
    )
    console.log(`| baseline: users row by primary key | ${ib.n} | ${ib.p50} | ${ib.p95} | ${ib.max} |`)
    const plan = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${lookup}`, [
      '192.0.2.1',
      '{}',
    ])
    console.log(`\n${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}`)
  } finally {
    await client.end()
  }
}

main().catch((err: unknown) => {
  console.error('bench:feed failed:', err)
  process.exit(1)
})
