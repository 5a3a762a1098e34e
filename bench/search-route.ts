import { loadavg } from 'node:os'
import pg from 'pg'
import { startRapport } from '../scripts/dev'
import { benchRun, post } from './client'

/**
 * The route half of `npm run bench:search -- --route`: the same searchers and filters as the
 * statement half, now as HTTP requests to `wrangler dev` (scripts/dev.ts's startRapport over
 * the bench database: the Worker, the local Neon and Upstash stand-ins, auth and the rate limits
 * as configured), each search preceded by a `GET /health` in the same loop, so the three are
 * measured side by side under the same load.
 *
 * Per searcher and round: `GET /health`, `POST /api/v1/search` (the uncached search: context,
 * then lock + rebuild + page 1 in one Neon HTTP transaction), `GET /api/v1/search?page=2…5`
 * (cached pages). The searchers sign in through the API: their bench addresses are changed to
 * `search-<id>@example.com`, which signs in with `000000` outside production.
 */

export interface RouteSummary {
  health: number[]
  rebuild: number[]
  cached: number[]
}

interface RouteOptions {
  databaseUrl: string
  redisUrl: string
  searcherIds: string[]
  rounds: number
  rand: () => number
  log: (line: string) => void
}

async function timedFetch(url: string, init: RequestInit = {}): Promise<{ ms: number; status: number }> {
  const t0 = performance.now()
  const res = await fetch(url, init)
  await res.arrayBuffer()
  return { ms: performance.now() - t0, status: res.status }
}

/** Run the route half; resolves with the samples (ms) or throws with wrangler's log kept. */
export async function routeBench(opts: RouteOptions): Promise<RouteSummary> {
  const admin = new pg.Client({ connectionString: opts.databaseUrl })
  await admin.connect()
  try {
    await admin.query(
      `update users set email = 'search-' || id || '@example.com', email_display = 'search-' || id || '@example.com'
       where id = any($1::uuid[])`,
      [opts.searcherIds],
    )
  } finally {
    await admin.end()
  }
  const result: RouteSummary = { health: [], rebuild: [], cached: [] }
  let failure: unknown
  await benchRun('rapport-bench-search-', async (run) => {
    const port = 8900 + Math.floor(Math.random() * 90)
    const rapport = await startRapport({
      port,
      dataDir: run.dir,
      databaseUrl: opts.databaseUrl,
      redisUrl: opts.redisUrl,
      // Signing 60 members in from one address in a minute: the sign-in limits only, raised.
      // Search's own limits (15 uncached searches per 2 minutes) stay as shipped.
      vars: { OTP_SENDS_PER_MINUTE: '1000', SIGN_IN_ATTEMPTS_PER_DAY: '100000' },
      wranglerOutput: run.logFd,
      withoutInspector: true,
      admin: null,
      log: (line) => opts.log(`[rapport] ${line}`),
    })
    run.stop = rapport.stop
    const url = rapport.url
    const tokens: string[] = []
    for (const id of opts.searcherIds) {
      const { challengeId } = await post(`${url}/api/v1/auth/otp`, { email: `search-${id}@example.com` })
      const { accessToken } = await post(`${url}/api/v1/auth/otp/verify`, {
        challengeId,
        code: '000000',
        client: 'mobile',
      })
      if (typeof accessToken !== 'string') throw new Error('sign-in returned no access token')
      tokens.push(accessToken)
    }
    const once = async (i: number, record: boolean) => {
      const auth = { Authorization: `Bearer ${tokens[i]}` }
      const health = await timedFetch(`${url}/health`)
      const rebuild = await timedFetch(`${url}/api/v1/search?items_per_page=10`, {
        method: 'POST',
        headers: auth,
      })
      if (rebuild.status !== 200) throw new Error(`POST /api/v1/search answered ${rebuild.status}`)
      const pages: number[] = []
      for (let page = 2; page <= 5; page++) {
        const r = await timedFetch(`${url}/api/v1/search?page=${page}&items_per_page=10`, { headers: auth })
        if (r.status !== 200) throw new Error(`GET /api/v1/search?page=${page} answered ${r.status}`)
        pages.push(r.ms)
      }
      if (!record) return
      result.health.push(health.ms)
      result.rebuild.push(rebuild.ms)
      result.cached.push(...pages)
    }
    // Warm-up: every searcher once (compiles the Worker's paths, opens the stand-ins' pools).
    for (let i = 0; i < tokens.length; i++) await once(i, false)
    opts.log(
      `route: ${tokens.length} members signed in and warmed up; load average ${loadavg()[0]!.toFixed(2)}`,
    )
    for (let round = 0; round < opts.rounds; round++) {
      const order = tokens.map((_, i) => ({ i, k: opts.rand() })).sort((a, b) => a.k - b.k)
      for (const { i } of order) await once(i, true)
    }
  }).catch((err: unknown) => {
    failure = err
  })
  if (failure) throw failure
  if (process.exitCode) throw new Error('the route half failed (see the lines above)')
  return result
}
