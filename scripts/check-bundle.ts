import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

/**
 * Build the Worker exactly as `wrangler deploy` would (offline, --dry-run) for each environment
 * and fail when the gzipped bundle exceeds the budget. The budget is about start-up time, not
 * the platform's hard limit: raise it only with a start-up measurement recorded in
 * docs/BENCHMARKS.md. 400 KiB: with the lean zod build every feature of the launch round fits under it.
 */
const budgetKiB = Number(process.env.BUNDLE_BUDGET_KIB ?? 400)
const environments = process.argv.slice(2).length ? process.argv.slice(2) : ['', 'staging', 'production']

let failed = false
for (const environment of environments) {
  const outdir = mkdtempSync(join(tmpdir(), 'rapport-bundle-'))
  try {
    execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', outdir, `--env=${environment}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
    })
    const code = readFileSync(join(outdir, 'index.js'))
    const gzipKiB = gzipSync(code, { level: 9 }).length / 1024
    const label = environment || 'local'
    const verdict = gzipKiB <= budgetKiB ? 'ok' : 'OVER BUDGET'
    console.log(
      `bundle[${label}]: ${(code.length / 1024).toFixed(1)} KiB raw, ${gzipKiB.toFixed(1)} KiB gzip (budget ${budgetKiB} KiB) ${verdict}`,
    )
    if (gzipKiB > budgetKiB) failed = true
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string }
    console.error(
      `bundle[${environment || 'local'}]: wrangler deploy --dry-run failed\n${e.stderr?.toString() ?? e.message}`,
    )
    failed = true
  } finally {
    rmSync(outdir, { recursive: true, force: true })
  }
}
process.exit(failed ? 1 : 0)
