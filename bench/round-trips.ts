import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { type LocalStack, startLocalStack } from '../scripts/local-stack'
import { type ChatStack, type Member, createMembers, startChatStack } from './chat'

/**
 * `npm run bench:rt`: sequential round trips to Neon and Upstash per hot route, and what they
 * cost at a realistic distance. In production a Worker runs near the member while Neon runs in
 * one region, often 20–80 ms away, so a route's latency is mostly (sequential round trips × that
 * distance); locally the database is 0.3 ms away and hides it.
 *
 * Starts Rapport under wrangler dev (a fresh database on TEST_PG_URL's server, Redis logical
 * database BENCH_REDIS_URL, default redis://127.0.0.1:6379/2, flushed) with the Worker's Neon and
 * Upstash addresses pointing at stand-ins this process starts with per-tag accounting, under one
 * tag: they see every request the Worker and its Durable Objects make and record each round
 * trip's span on this process's clock, the clock the requests are timed on. Then each route runs `BENCH_RT_ROUNDS`
 * times (default 20), one request at a time, after one warm-up call (the steady state of a member
 * already using the app: caches per isolate and in Redis are warm; a chat message after a 5 s pause
 * is measured 5 times, each after its pause), and prints per route:
 *
 * - Neon and Upstash round trips before the response (overlapping ones count once), and those
 *   `waitUntil` ran after it (they cost the member nothing);
 * - the combined sequential depth: both services' spans merged where they overlap;
 * - the local p50 (client-side, this machine);
 * - the modelled latency with Neon and Upstash 50 ms away (`BENCH_RT_MS`): local p50 + depth × 50 ms.
 *
 * /health (no I/O) runs in the same run as the baseline. Round-trip counts are exact and do not
 * depend on the machine's load; the milliseconds do (the load average is printed).
 *
 *   npm run bench:rt
 */

const rounds = Number(process.env.BENCH_RT_ROUNDS ?? 20)
const distanceMs = Number(process.env.BENCH_RT_MS ?? 50)
const tag = 'bench-rt'

type Span = [number, number]
interface TagStats {
  spans: Span[]
}

/** The number of groups of overlapping spans: round trips in sequence. */
export function sequentialDepth(spans: Span[]): number {
  let groups = 0
  let end = -Infinity
  for (const [from, to] of [...spans].sort((a, b) => a[0] - b[0])) {
    if (from > end) groups++
    end = Math.max(end, to)
  }
  return groups
}

interface Sample {
  ms: number
  neon: number
  upstash: number
  depth: number
  neonAfter: number
  upstashAfter: number
}

interface Route {
  name: string
  target?: string
  /** Runs the request; returns the response's status. */
  run: () => Promise<number>
  /** Runs before each request, outside the measurement (a fresh sign-in challenge for verify). */
  prepare?: () => Promise<unknown>
  /** Measured requests when not `rounds` (a route whose preparation is slow). */
  rounds?: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)]!
}

/** One tag's spans on both stand-ins. */
async function readStats(local: LocalStack) {
  const read = async (url: string) => {
    const res = await fetch(url)
    if (!res.ok) throw new Error(`${url}: ${res.status}`)
    return (await res.json()) as TagStats
  }
  const [neon, upstash] = await Promise.all([
    read(`http://${local.neonProxy}/__stats/${tag}`),
    read(`${local.upstash.url}/__stats/${tag}`),
  ])
  return { neon, upstash }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-bench-rt-'))
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/2'
  const upstashToken = randomBytes(16).toString('hex')
  let stack: ChatStack | undefined
  let local: LocalStack | undefined
  try {
    local = await startLocalStack({
      databaseUrl: process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      redis: redisUrl,
      upstashToken,
      stats: true,
    })
    stack = await startChatStack({
      redisUrl,
      dataDir: dir,
      vars: {
        NEON_LOCAL_PROXY: `${local.neonProxy}/__tag/${tag}`,
        UPSTASH_REDIS_REST_URL: `${local.upstash.url}/__tag/${tag}`,
        UPSTASH_REDIS_REST_TOKEN: upstashToken,
        OTP_SENDS_PER_MINUTE: '1000',
        SIGN_IN_ATTEMPTS_PER_DAY: '100000',
      },
    })
    const counted = local
    const stats = () => readStats(counted)
    const { url } = stack
    const [me, peer, other, ...searchers] = (await createMembers(stack, 4 + rounds)) as [
      Member,
      Member,
      Member,
      ...Member[],
    ]
    const db = stack.pool
    // The members' tokens name no tier (createMembers signs them so); their accounts must agree,
    // or every request would count its rate limit twice (once under each tier).
    await db.query(`update users set tier_id = null where id = any($1::uuid[])`, [
      [me, peer, other, ...searchers].map((m) => m.id),
    ])
    await db.query(`update profiles set public_profile = true where user_id = $1`, [other.id])
    const [{ url_slug: slug }] = (
      await db.query<{ url_slug: string }>(`select url_slug from profiles where user_id = $1`, [other.id])
    ).rows as [{ url_slug: string }]
    const get = (path: string, token?: string) => async () => {
      const res = await fetch(url + path, { headers: token ? { Authorization: `Bearer ${token}` } : {} })
      await res.arrayBuffer()
      return res.status
    }
    const post = (path: string, body: () => unknown, token?: string) => async () => {
      const res = await fetch(url + path, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body()),
      })
      await res.arrayBuffer()
      return res.status
    }
    // A conversation of 60 messages through the API, so history has more than one page.
    let sent = 0
    const send = post(
      `/api/v1/conversations/${peer.id}/messages`,
      () => ({ clientId: `rt-${++sent}`, body: `message ${sent}` }),
      me.token,
    )
    const reply = post(
      `/api/v1/conversations/${me.id}/messages`,
      () => ({ clientId: `rt-reply-${++sent}`, body: `reply ${sent}` }),
      peer.token,
    )
    for (let i = 0; i < 30; i++) {
      for (const step of [send, reply]) {
        const status = await step()
        if (status !== 201) throw new Error(`setting up the conversation: ${status}`)
      }
    }
    let searches = 0
    const rebuild = async () => {
      const searcher = searchers[searches++ % searchers.length]!
      return post('/api/v1/search', () => ({}), searcher.token)()
    }
    // Sign-in: each round signs in one more address again (the common case: a returning member).
    const emails = Array.from({ length: rounds + 1 }, (_, i) => `rt-${i}-${Date.now()}@example.com`)
    let challenge = ''
    let signIns = 0
    const otp = async () => {
      const res = await fetch(`${url}/api/v1/auth/otp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: emails[signIns % emails.length] }),
      })
      challenge = ((await res.json()) as { challengeId: string }).challengeId
      return res.status
    }
    const verify = async () => {
      const status = await post('/api/v1/auth/otp/verify', () => ({
        challengeId: challenge,
        code: '000000',
        client: 'mobile',
      }))()
      signIns++
      return status
    }
    // Sign-up: a code for an address nobody has used, then its first sign-in (the account's creation).
    let signUps = 0
    const signUpCode = async () => {
      const res = await fetch(`${url}/api/v1/auth/otp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `rt-new-${signUps++}-${Date.now()}@example.com` }),
      })
      challenge = ((await res.json()) as { challengeId: string }).challengeId
      return res.status
    }
    for (let i = 0; i < emails.length; i++) {
      // First sign-ins (sign-ups) are not what is measured.
      await otp()
      await verify()
    }
    signIns = 0

    const routes: Route[] = [
      { name: 'GET /health', run: get('/health') },
      { name: 'GET /api/v1/me', target: 'Neon ≤ 1', run: get('/api/v1/me', me.token) },
      {
        name: 'GET /api/v1/profiles/{id} (member)',
        target: 'Neon ≤ 1',
        run: get(`/api/v1/profiles/${other.id}`, me.token),
      },
      {
        name: 'GET /api/v1/profiles/{slug} (anonymous)',
        target: 'Neon ≤ 1',
        run: get(`/api/v1/profiles/${slug}`),
      },
      { name: 'GET /api/v1/inbox', target: 'Neon ≤ 1', run: get('/api/v1/inbox', me.token) },
      {
        name: 'GET /api/v1/conversations/{peerId}/messages',
        target: 'Neon ≤ 1',
        run: get(`/api/v1/conversations/${peer.id}/messages`, me.token),
      },
      { name: 'POST /api/v1/conversations/{peerId}/messages', run: send },
      {
        // The Conversation object trusts its pair facts for 5 s: a message after a longer pause,
        // the usual pace of a chat, finds them expired.
        name: 'POST /api/v1/conversations/{peerId}/messages (after a 5 s pause)',
        run: send,
        prepare: () => sleep(5_100),
        rounds: Math.min(rounds, 5),
      },
      // The search route's own limit (15 rebuilds per 2 minutes) is per member: one searcher per call.
      { name: 'POST /api/v1/search (rebuild)', target: 'Neon ≤ 2', run: rebuild },
      {
        name: 'GET /api/v1/search (page)',
        target: 'Neon ≤ 1',
        run: get('/api/v1/search?page=1', searchers[0]!.token),
      },
      { name: 'POST /api/v1/auth/otp', target: 'Neon ≤ 3', run: otp },
      { name: 'POST /api/v1/auth/otp/verify', target: 'Neon ≤ 3', run: verify, prepare: otp },
      {
        name: 'POST /api/v1/auth/otp/verify (sign-up)',
        target: 'Neon ≤ 3',
        run: verify,
        prepare: signUpCode,
      },
    ]

    const results: { route: Route; samples: Sample[] }[] = []
    for (const route of routes) {
      const samples: Sample[] = []
      // One warm-up call, then the measured ones.
      const calls = (route.rounds ?? rounds) + 1
      for (let i = 0; i < calls; i++) {
        await route.prepare?.()
        await sleep(40)
        const before = await stats()
        const started = performance.now()
        const status = await route.run()
        const ended = performance.now()
        if (status >= 300) throw new Error(`${route.name}: ${status}`)
        // Let waitUntil work finish before the next request, and attribute it to this one.
        await sleep(40)
        const after = await stats()
        const neon = after.neon.spans.slice(before.neon.spans.length)
        const upstash = after.upstash.spans.slice(before.upstash.spans.length)
        const inResponse = (s: Span) => s[0] < ended
        if (i === 0) continue
        samples.push({
          ms: ended - started,
          neon: sequentialDepth(neon.filter(inResponse)),
          upstash: sequentialDepth(upstash.filter(inResponse)),
          depth: sequentialDepth([...neon, ...upstash].filter(inResponse)),
          neonAfter: sequentialDepth(neon.filter((s) => !inResponse(s))),
          upstashAfter: sequentialDepth(upstash.filter((s) => !inResponse(s))),
        })
      }
      results.push({ route, samples })
    }

    const header = [
      'route',
      'Neon RTs',
      'Upstash RTs',
      'depth',
      'after response',
      'local p50',
      `at ${distanceMs} ms`,
      'target',
    ]
    const rows = results.map(({ route, samples }) => {
      const typical = (f: (s: Sample) => number) => median(samples.map(f))
      const varies = (f: (s: Sample) => number) =>
        new Set(samples.map(f)).size > 1
          ? ` (${Math.min(...samples.map(f))}–${Math.max(...samples.map(f))})`
          : ''
      const p50 = median(samples.map((s) => s.ms))
      const depth = typical((s) => s.depth)
      return [
        route.name,
        `${typical((s) => s.neon)}${varies((s) => s.neon)}`,
        `${typical((s) => s.upstash)}${varies((s) => s.upstash)}`,
        `${depth}${varies((s) => s.depth)}`,
        `${typical((s) => s.neonAfter)} Neon, ${typical((s) => s.upstashAfter)} Upstash`,
        `${p50.toFixed(1)} ms`,
        `${(p50 + depth * distanceMs).toFixed(0)} ms`,
        route.target ?? '',
      ]
    })
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
    console.log(
      `\n[bench:rt] ${rounds} sequential requests per route after one warm-up; load average ${loadavg()[0]!.toFixed(2)}`,
    )
    console.log(line(header))
    console.log(line(widths.map((w) => '-'.repeat(w))))
    for (const row of rows) console.log(line(row))
    const health = median(results[0]!.samples.map((s) => s.ms))
    console.log(
      `\n[bench:rt] local p50 as a ratio of /health's in the same run: ` +
        results
          .slice(1)
          .map(
            ({ route, samples }) =>
              `${route.name} ${(median(samples.map((s) => s.ms)) / health).toFixed(1)}×`,
          )
          .join('; '),
    )
  } finally {
    await stack?.stop()
    await local?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
