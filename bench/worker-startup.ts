import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { gzipSync } from 'node:zlib'
import { Log, LogLevel, Miniflare } from 'miniflare'

/**
 * The Worker's start-up, as a cold isolate pays it: workerd (through Miniflare, offline) loads the
 * deploy bundle (`wrangler deploy --dry-run`) and answers its first request, alternately with a
 * one-line Worker as the baseline in the same run. Two numbers per Worker, medians of `RUNS`:
 * - ready: Miniflare's start until workerd listens (module compilation and global-scope
 *   evaluation, plus Miniflare's own handling of the script, which grows with its size);
 * - first answer: the first request after that (Rapport builds its app for the environment on
 *   first use, so this is where route registration shows).
 * Usage: npm run bench:startup [-- <bundle.js> …] (default: the current bundle).
 */
const runs = Number(process.env.RUNS ?? 5)

async function once(script: string): Promise<[number, number]> {
  const t0 = performance.now()
  const mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: '2026-04-26',
    compatibilityFlags: ['nodejs_compat'],
    durableObjects: { CONVERSATION: 'Conversation', USER_HUB: 'UserHub' },
    log: new Log(LogLevel.NONE),
  })
  try {
    await mf.ready
    const t1 = performance.now()
    // Any answer proves the module evaluated; without configuration Rapport answers a problem.
    await (await mf.dispatchFetch('http://localhost/health')).arrayBuffer()
    return [t1 - t0, performance.now() - t1]
  } finally {
    await mf.dispose()
  }
}

function currentBundle(): string {
  const outdir = mkdtempSync(join(tmpdir(), 'rapport-startup-'))
  try {
    execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', outdir], {
      stdio: 'ignore',
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
    })
    return readFileSync(join(outdir, 'index.js'), 'utf8')
  } finally {
    rmSync(outdir, { recursive: true, force: true })
  }
}

const baseline =
  'export class Conversation { fetch() { return new Response() } }\n' +
  'export class UserHub { fetch() { return new Response() } }\n' +
  'export default { fetch: () => new Response("ok") }'
const paths = process.argv.slice(2)
const workers: [string, string][] = [
  ['one-line Worker', baseline],
  ...(paths.length
    ? paths.map((p): [string, string] => [p, readFileSync(p, 'utf8')])
    : [['rapport (current bundle)', currentBundle()] as [string, string]]),
]
const results = new Map<string, [number, number][]>(workers.map(([name]) => [name, []]))
for (let i = 0; i < runs; i++) {
  for (const [name, script] of workers) results.get(name)!.push(await once(script))
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
for (const [name, script] of workers) {
  const r = results.get(name)!
  const gz = (gzipSync(script, { level: 9 }).length / 1024).toFixed(1)
  console.log(
    `${name}: ${gz} KiB gzip; ready ${median(r.map((x) => x[0])).toFixed(0)} ms, ` +
      `first answer ${median(r.map((x) => x[1])).toFixed(0)} ms (medians of ${runs})`,
  )
}
