import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * How long `npm run dev` takes from the command to the first answered request, in embedded mode
 * (no DATABASE_URL / REDIS_URL), on a warm install. Run twice: once with an empty .data/ (first
 * start: PGlite initdb + all migrations) and once with the data it left (every later start).
 * Prints one line per run; exits non-zero above the 15 s target.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const port = 8800 + Math.floor(Math.random() * 100)
const targetSeconds = 15

async function timeStart(label: string, dataDir: string): Promise<number> {
  const started = Date.now()
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), RAPPORT_DATA_DIR: dataDir }
  delete env.DATABASE_URL
  delete env.REDIS_URL
  const child = spawn('npx', ['tsx', 'scripts/dev.ts'], { cwd: root, env, detached: true, stdio: 'ignore' })
  try {
    for (;;) {
      if (Date.now() - started > 90_000) throw new Error(`${label}: not ready after 90 s`)
      if (child.exitCode !== null) throw new Error(`${label}: dev exited with ${child.exitCode}`)
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`)
        if (res.ok) break
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    return (Date.now() - started) / 1000
  } finally {
    process.kill(-child.pid!, 'SIGINT')
    await new Promise((r) => child.once('exit', r))
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'rapport-dev-bench-'))
try {
  const cold = await timeStart('empty .data', scratch)
  const warm = await timeStart('existing .data', scratch)
  console.log(`dev startup, empty .data:    ${cold.toFixed(1)} s (until /health/ready answers 200)`)
  console.log(`dev startup, existing .data: ${warm.toFixed(1)} s`)
  if (warm > targetSeconds) {
    console.error(`over the ${targetSeconds} s target`)
    process.exitCode = 1
  }
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
