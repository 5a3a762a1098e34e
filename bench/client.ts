import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * What the benches do as a client of a running Rapport: JSON calls and signing in a fresh member
 * through the public API (the non-production `@example.com` → `000000` rule).
 */

export async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`)
  return (await res.json()) as Record<string, unknown>
}

/** A fresh member signed in the way a client would; returns the access token. */
export async function signIn(url: string): Promise<string> {
  const email = `bench-${crypto.randomUUID().slice(0, 8)}@example.com`
  const { challengeId } = await post(`${url}/api/v1/auth/otp`, { email })
  const { accessToken } = await post(`${url}/api/v1/auth/otp/verify`, {
    challengeId,
    code: '000000',
    client: 'mobile',
  })
  if (typeof accessToken !== 'string') throw new Error('sign-in returned no access token')
  return accessToken
}

export interface BenchRun {
  /** Scratch directory for Rapport's data; removed afterwards unless `keepLogs` is set. */
  dir: string
  /** File descriptor wrangler's output goes to, and that file's path. */
  logFd: number
  wranglerLog: string
  /** Set to keep the scratch directory (and wrangler's log) for a failed run. */
  keepLogs: boolean
  /** Set to what stops Rapport; called once the body is done, whatever happened. */
  stop?: () => Promise<void>
}

/**
 * Run a benchmark body with a scratch directory and a wrangler log: a failure prints where the
 * log is kept and sets a non-zero exit code; Rapport is stopped and the scratch removed after.
 */
export async function benchRun(prefix: string, body: (run: BenchRun) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const wranglerLog = join(dir, 'wrangler.log')
  const run: BenchRun = { dir, logFd: openSync(wranglerLog, 'w'), wranglerLog, keepLogs: false }
  try {
    await body(run)
  } catch (err) {
    console.error('[bench] failed:', err instanceof Error ? err.message : err)
    console.error(`[bench] wrangler's output is kept in ${wranglerLog}`)
    run.keepLogs = true
    process.exitCode = 1
  } finally {
    await run.stop?.()
    closeSync(run.logFd)
    if (!run.keepLogs) rmSync(dir, { recursive: true, force: true })
  }
}
