import { randomBytes } from 'node:crypto'
import { SignJWT } from 'jose'
import pg from 'pg'
import { startRapport } from '../scripts/dev'
import { benchRun } from './client'

/**
 * `npm run bench:load`: authenticated requests under concurrency, with a cold start in the
 * middle, must all be answered by Rapport — never by the runtime's "your Worker's code had hung"
 * 500. Starts Rapport as `npm run dev` does (embedded PostgreSQL and Redis in a scratch directory
 * unless DATABASE_URL / REDIS_URL are set), creates LOAD_MEMBERS members (default 50) spread over
 * three tiers (two with their own rules, so rule loads race), and sends LOAD_REQUESTS requests
 * (default 2,400) with LOAD_IN_FLIGHT (default 200) in flight: the first half against the running
 * Worker, then Rapport is stopped and started again (a new isolate with empty caches; embedded
 * Redis loses its markers, so sessions are confirmed in PostgreSQL again) and the second half
 * starts at once with a full burst. Requests mix `GET /api/v1/me`, `GET /api/v1/me/sessions`,
 * `GET /api/v1/tiers` (the read-through cache) and `GET /api/v1/tier/{name}`.
 *
 * Prints the status counts and p50/p99 per phase; exits non-zero on any 5xx or network error, or
 * when the run exceeds LOAD_DEADLINE_SECONDS (default 240).
 */
const members = Number(process.env.LOAD_MEMBERS ?? 50)
const total = Number(process.env.LOAD_REQUESTS ?? 2400)
const inFlight = Number(process.env.LOAD_IN_FLIGHT ?? 200)
const deadlineMs = Number(process.env.LOAD_DEADLINE_SECONDS ?? 240) * 1000
const port = 8900 + Math.floor(Math.random() * 90)
const jwtSecret = randomBytes(32).toString('hex')
const started = Date.now()

interface Member {
  id: string
  token: string
}

/** Three tiers (two with rules for the routes under load), members spread over them, one session each. */
async function seed(databaseUrl: string): Promise<{ members: Member[]; tierNames: string[] }> {
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  try {
    const suffix = randomBytes(4).toString('hex')
    const tierIds: string[] = []
    const tierNames: string[] = []
    for (const [i, name] of ['load-a', 'load-b', 'load-c'].entries()) {
      const { rows } = await db.query<{ id: string }>('insert into tiers (name) values ($1) returning id', [
        `${name}-${suffix}`,
      ])
      tierIds.push(rows[0]!.id)
      tierNames.push(`${name}-${suffix}`)
      if (i < 2) {
        for (const route of ['GET /api/v1/me', 'GET /api/v1/me/sessions']) {
          await db.query(
            `insert into rate_limit_rules (tier_id, name, route, "limit", period_seconds) values ($1, $2, $3, 1000000, 60)`,
            [rows[0]!.id, `load ${route}`, route],
          )
        }
      }
    }
    const out: Member[] = []
    const now = Math.floor(Date.now() / 1000)
    for (let i = 0; i < members; i++) {
      const email = `load-${suffix}-${i}@example.com`
      const { rows } = await db.query<{ id: string }>(
        `insert into users (email, email_display, status, tier_id) values ($1, $1, 'active', $2) returning id`,
        [email, tierIds[i % 3]],
      )
      const userId = rows[0]!.id
      const { rows: s } = await db.query<{ id: string }>(
        `insert into sessions (user_id, ip, expires_at) values ($1, '127.0.0.1', now() + interval '1 day') returning id`,
        [userId],
      )
      const token = await new SignJWT({
        sid: s[0]!.id,
        role: 'member',
        tier: tierIds[i % 3],
        token_type: 'access',
      })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuer('rapport')
        .setAudience('rapport-api')
        .setIssuedAt(now)
        .setJti(crypto.randomUUID())
        .setExpirationTime(now + 900)
        .sign(new TextEncoder().encode(jwtSecret))
      out.push({ id: userId, token })
    }
    return { members: out, tierNames }
  } finally {
    await db.end()
  }
}

interface Phase {
  statuses: Map<string, number>
  latencies: number[]
  failures: string[]
}

/** `count` requests, `inFlight` at a time, the first `inFlight` all at once. */
async function load(url: string, count: number, team: Member[], tierNames: string[]): Promise<Phase> {
  const phase: Phase = { statuses: new Map(), latencies: [], failures: [] }
  let next = 0
  const one = async (i: number) => {
    const m = team[i % team.length]!
    const paths = ['/api/v1/me', '/api/v1/me/sessions', '/api/v1/tiers', `/api/v1/tier/${tierNames[i % 3]}`]
    const path = paths[i % paths.length]!
    const t0 = performance.now()
    let status: string
    try {
      const res = await fetch(url + path, {
        headers: { Authorization: `Bearer ${m.token}` },
        signal: AbortSignal.timeout(30_000),
      })
      const body = await res.text()
      status = String(res.status)
      if (res.status >= 500 && phase.failures.length < 5) {
        phase.failures.push(`${res.status} ${path}: ${body.slice(0, 160)}`)
      }
    } catch (err) {
      status = 'network error'
      if (phase.failures.length < 5) phase.failures.push(`${path}: ${String(err)}`)
    }
    phase.latencies.push(performance.now() - t0)
    phase.statuses.set(status, (phase.statuses.get(status) ?? 0) + 1)
  }
  const worker = async () => {
    while (next < count && Date.now() - started < deadlineMs) await one(next++)
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker))
  return phase
}

function report(name: string, phase: Phase, ms: number) {
  const sorted = [...phase.latencies].sort((a, b) => a - b)
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0)
  const counts = [...phase.statuses].map(([s, n]) => `${s}: ${n}`).join(', ')
  console.log(
    `${name}: ${sorted.length} requests in ${(ms / 1000).toFixed(1)} s, ${inFlight} in flight; ${counts}; p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`,
  )
  for (const f of phase.failures) console.log(`  ${f}`)
}

await benchRun('rapport-bench-load-', async (run) => {
  const options = {
    port,
    dataDir: run.dir,
    databaseUrl: process.env.DATABASE_URL,
    redisUrl: process.env.REDIS_URL,
    embeddedRedis: process.env.EMBEDDED_REDIS,
    vars: { JWT_SECRET: jwtSecret, DEFAULT_RATE_LIMIT_LIMIT: '1000000', LOG_LEVEL: 'warn' },
    wranglerOutput: run.logFd,
    withoutInspector: true,
    log: (line: string) => console.log(`[load] ${line}`),
  }
  let rapport = await startRapport(options)
  run.stop = () => rapport.stop()
  const { members: team, tierNames } = await seed(rapport.databaseUrl)
  console.log(`[load] ${team.length} members over 3 tiers; ${total} requests, ${inFlight} in flight`)

  const half = Math.floor(total / 2)
  let t0 = Date.now()
  const warm = await load(rapport.url, half, team, tierNames)
  report('warm isolate', warm, Date.now() - t0)

  // The cold start: a new Worker process (new isolate, empty per-isolate caches), and with the
  // embedded stores, an empty Redis (no session markers, account summaries or counters).
  await rapport.stop()
  rapport = await startRapport(options)
  t0 = Date.now()
  const cold = await load(rapport.url, total - half, team, tierNames)
  report('after a cold start', cold, Date.now() - t0)

  const bad = [warm, cold].reduce(
    (n, p) =>
      n +
      [...p.statuses]
        .filter(([s]) => s === 'network error' || Number(s) >= 500)
        .reduce((a, [, c]) => a + c, 0),
    0,
  )
  const sent = warm.latencies.length + cold.latencies.length
  console.log(
    `total: ${sent} requests, ${bad} 5xx or network errors, ${((Date.now() - started) / 1000).toFixed(0)} s`,
  )
  if (bad > 0 || sent < total) {
    run.keepLogs = true
    process.exitCode = 1
    console.error(
      sent < total ? 'the run hit its deadline' : `wrangler's output is kept in ${run.wranglerLog}`,
    )
  }
})
