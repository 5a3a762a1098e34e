import { spawn } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startRapport } from '../scripts/dev'
import { benchRun, signIn } from './client'
import { bundleFrameNamer, cpuMs, descendants, hotFunctions, profile, workerdProcesses } from './profile'

/**
 * `npm run bench:auth`: what authentication costs per request. Starts Rapport as `npm run dev`
 * does (embedded PostgreSQL and Redis in a scratch directory unless DATABASE_URL / REDIS_URL are
 * set) but with wrangler's DevTools inspector detached — the CLI's inspector forwards four events
 * per outbound fetch to wrangler's Node process, CPU no deployed Worker spends (BENCH_INSPECTOR=1
 * measures with it, as `npm run dev` runs) — signs a member in through the API (`@example.com` + `000000`, allowed locally), then runs
 * autocannon — 50 connections, 10 s — against `GET /health` (no auth, no I/O) and the
 * authenticated `GET /api/v1/me` (JWT verification and one Upstash pipeline: revocation,
 * account summary, rate limit), one after the other, then `GET /health/ready` (the same PostgreSQL and Redis round
 * trips, no auth) as a reference. Prints req/s and p50/p99 latency and the /me ÷ /health ratio;
 * exits non-zero when /me serves less than half of /health's throughput.
 *
 * autocannon runs as its own process so it does not share an event loop with the Neon and
 * Upstash stand-ins, which run in this one.
 *
 * With BENCH_PROFILE=1 it then loads /health and /me once more (`BENCH_PROFILE_SECONDS`, default
 * 5) while taking a V8 CPU profile of the Worker's isolate (bench/profile.ts) and reading the CPU
 * time of wrangler's processes, and prints CPU per request and the hottest functions of each.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const port = 8900 + Math.floor(Math.random() * 90)
const connections = 50
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const targetRatio = 0.5
const profileSeconds = Number(process.env.BENCH_PROFILE_SECONDS ?? 5)
const profileTop = Number(process.env.BENCH_PROFILE_TOP ?? 25)
const samplingMicros = 250

interface Result {
  requestsPerSecond: number
  p50: number
  p99: number
  total: number
  non2xx: number
  errors: number
}

async function autocannon(
  url: string,
  duration: number,
  headers: Record<string, string> = {},
): Promise<Result> {
  const args = ['-c', String(connections), '-d', String(duration), '-j']
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}=${value}`)
  args.push(url)
  const child = spawn(join(root, 'node_modules/.bin/autocannon'), args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`autocannon exited with ${code}`)
  const r = JSON.parse(out) as {
    requests: { average: number; total: number }
    latency: { p50: number; p99: number }
    non2xx: number
    errors: number
  }
  return {
    requestsPerSecond: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    total: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
  }
}

/** CPU per request of wrangler dev's processes and this one while `load` runs. */
async function processCpu(
  workerd: { runtime: number; proxy: number },
  nodes: { pid: number }[],
  load: () => Promise<Result>,
): Promise<string> {
  const nodeCpu = () => nodes.reduce((t, p) => t + cpuMs(p.pid), 0)
  const before = { runtime: cpuMs(workerd.runtime), proxy: cpuMs(workerd.proxy), node: nodeCpu() }
  const own = process.cpuUsage()
  const r = await load()
  const used = process.cpuUsage(own)
  const per = (x: number) => `${(x / r.total).toFixed(2)} ms`
  return (
    `${r.requestsPerSecond.toFixed(0)} req/s; CPU per request: workerd runtime ${per(cpuMs(workerd.runtime) - before.runtime)}, ` +
    `workerd proxy ${per(cpuMs(workerd.proxy) - before.proxy)}, wrangler's Node ${per(nodeCpu() - before.node)}, ` +
    `stand-ins (this process) ${per((used.user + used.system) / 1000)}`
  )
}

/**
 * Where the CPU goes per request: process CPU of wrangler dev's processes (/proc) and a V8 CPU
 * profile of the Worker's isolate, while autocannon loads one route.
 */
async function profileRoutes(url: string, publicPort: number, auth: Record<string, string>) {
  const workerd = await workerdProcesses(publicPort)
  const nodes = descendants().filter((p) => p.comm.startsWith('node'))
  const namer = await bundleFrameNamer(root)
  for (const [name, path, headers] of [
    ['GET /health', '/health', {}],
    ['GET /api/v1/me', '/api/v1/me', auth],
  ] as const) {
    const plain = await processCpu(workerd, nodes, () => autocannon(`${url}${path}`, profileSeconds, headers))
    console.log(`\n[profile] ${name} without the profiler: ${plain}`)
    const before = {
      runtime: cpuMs(workerd.runtime),
      proxy: cpuMs(workerd.proxy),
      node: nodes.reduce((t, p) => t + cpuMs(p.pid), 0),
      bench: process.cpuUsage(),
    }
    let r: Result | undefined
    const prof = await profile(
      workerd.inspector,
      async () => {
        r = await autocannon(`${url}${path}`, profileSeconds, headers)
      },
      samplingMicros,
    )
    const n = r!.total
    const bench = process.cpuUsage(before.bench)
    const per = (x: number) => `${(x / n).toFixed(2)} ms`
    const hot = hotFunctions(prof, profileTop, namer)
    console.log(
      `\n[profile] ${name}: ${n} requests in ${profileSeconds} s (${r!.requestsPerSecond.toFixed(0)} req/s)`,
    )
    console.log(
      `[profile] CPU per request: workerd runtime ${per(cpuMs(workerd.runtime) - before.runtime)}, ` +
        `workerd proxy ${per(cpuMs(workerd.proxy) - before.proxy)}, ` +
        `wrangler's Node ${per(nodes.reduce((t, p) => t + cpuMs(p.pid), 0) - before.node)}, ` +
        `stand-ins (this process) ${per((bench.user + bench.system) / 1000)}; ` +
        `Worker isolate by profile ${per((hot.busy * samplingMicros) / 1000)} (${samplingMicros} µs samples)`,
    )
    const pct = (x: number) => `${((x / hot.busy) * 100).toFixed(1).padStart(5)} %`
    console.log('[profile] self time:')
    for (const [fn, count] of hot.self) console.log(`  ${pct(count)}  ${fn}`)
    console.log('[profile] total time (on the stack):')
    for (const [fn, count] of hot.total) console.log(`  ${pct(count)}  ${fn}`)
  }
}

await benchRun('rapport-bench-auth-', async (run) => {
  const rapport = await startRapport({
    port,
    dataDir: run.dir,
    databaseUrl: process.env.DATABASE_URL,
    redisUrl: process.env.REDIS_URL,
    embeddedRedis: process.env.EMBEDDED_REDIS,
    // One member sends thousands of requests a minute here: keep the limiter counting (its Redis
    // round trip is part of what /me costs) without ever refusing.
    vars: { DEFAULT_RATE_LIMIT_LIMIT: '1000000' },
    wranglerOutput: run.logFd,
    // BENCH_INSPECTOR=1 measures under the CLI's DevTools inspector, as `npm run dev` runs; the
    // profiling pass needs the inspector too.
    withoutInspector: process.env.BENCH_INSPECTOR !== '1' && process.env.BENCH_PROFILE !== '1',
    log: (line) => console.log(`[bench] ${line}`),
  })
  run.stop = rapport.stop
  const token = await signIn(rapport.url)
  const auth = { Authorization: `Bearer ${token}` }
  const check = await fetch(`${rapport.url}/api/v1/me`, { headers: auth })
  if (check.status !== 200) throw new Error(`GET /api/v1/me answered ${check.status}: ${await check.text()}`)

  // Warm-up: first requests compile code paths and open the stand-ins' connections.
  await autocannon(`${rapport.url}/health`, 2)
  await autocannon(`${rapport.url}/api/v1/me`, 2, auth)
  await autocannon(`${rapport.url}/health/ready`, 2)

  const health = await autocannon(`${rapport.url}/health`, seconds)
  const me = await autocannon(`${rapport.url}/api/v1/me`, seconds, auth)
  // Reference: the same two round trips as /me (PostgreSQL + Redis) without any auth, to tell
  // what authentication costs from what the I/O costs.
  const ready = await autocannon(`${rapport.url}/health/ready`, seconds)

  const row = (name: string, r: Result) =>
    `${name.padEnd(17)} ${r.requestsPerSecond.toFixed(0).padStart(7)} req/s   p50 ${String(r.p50).padStart(4)} ms   p99 ${String(r.p99).padStart(4)} ms   ${r.total} requests, ${r.non2xx} non-2xx, ${r.errors} errors`
  const ratio = me.requestsPerSecond / health.requestsPerSecond
  console.log(
    `\n${connections} connections, ${seconds} s each; ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)}; ` +
      `${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PGlite'}, ${process.env.REDIS_URL ? 'REDIS_URL' : 'embedded Redis'}`,
  )
  console.log(row('GET /health', health))
  console.log(row('GET /api/v1/me', me))
  console.log(row('GET /health/ready', ready), '(reference: PostgreSQL + Redis, no auth)')
  console.log(
    `/me ÷ /health: ${(ratio * 100).toFixed(0)} % of the throughput (target ≥ ${targetRatio * 100} %)`,
  )
  console.log(
    `/me ÷ /health/ready: ${((me.requestsPerSecond / ready.requestsPerSecond) * 100).toFixed(0)} % (what auth adds beyond its I/O)`,
  )
  if (process.env.BENCH_PROFILE === '1') await profileRoutes(rapport.url, port, auth)
  if ([health, me, ready].some((r) => r.non2xx > 0 || r.errors > 0)) {
    console.error(`some requests failed; wrangler's output is kept in ${run.wranglerLog}`)
    run.keepLogs = true
    process.exitCode = 1
  }
  if (ratio < targetRatio) {
    console.error('below the target')
    process.exitCode = 1
  }
})
