import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

/**
 * `npm test`: the type-check, lint, the vitest suite and the deploy-bundle check, side by side
 * instead of one after another. Much of each test's time is spent waiting on PostgreSQL, Redis,
 * sockets or `wrangler dev`, so one vitest run at a time leaves a two-core machine half idle.
 *
 * Four lanes: the workerd tests split in two vitest processes, the Node project in a third, and
 * the static checks one after another in the fourth. The two workerd processes share nothing:
 * each one's global setup makes its own database and Neon/Upstash stand-ins, and each owns a Redis
 * logical database (it flushes its own before and after, so they must differ): the first takes
 * TEST_REDIS_URL_2 (default redis://127.0.0.1:6379/13), the second TEST_REDIS_URL (default …/14).
 * The first runs the areas named in `firstWorkerdLane` (chosen so the two take about as long), the
 * second every other workerd test file, so a new area runs even if nobody lists it. Each keeps
 * its own Vite cache directory, since both pre-bundle the Worker's dependencies on a clean clone.
 * Every vitest run and every `wrangler` run rewrites the docs assets, which is safe while others
 * read them (scripts/docs-assets.ts).
 *
 * The second workerd run's output streams as it comes; every other step's is printed whole when
 * the step ends, under its name, so lanes never interleave line by line. A summary with each
 * step's time and result comes last. Exits 1 when any step failed (every step still runs to the
 * end, so one run reports every failure).
 *
 * Arguments are passed to every vitest run, e.g. `npm test -- --reporter=verbose`.
 */

interface Step {
  name: string
  command: string
  args: string[]
  /** Print the output as it comes (whole lines) rather than in one block at the end. */
  live?: boolean
  env?: Record<string, string>
}

interface Outcome {
  name: string
  ok: boolean
  seconds: number
}

const vitestArgs = process.argv.slice(2)

/** The workerd areas of the first lane (test/workers/<area>.test.ts); the second runs the rest. */
const firstWorkerdLane = ['discovery', 'chat', 'accounts', 'push'].map(
  (area) => `test/workers/${area}.test.ts`,
)

/** Every test file of the workerd projects: each `*.test.ts` under test/ but the `*.node.test.ts`. */
function workerdTestFiles(dir = 'test'): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return workerdTestFiles(path)
    return entry.name.endsWith('.test.ts') && !entry.name.endsWith('.node.test.ts') ? [path] : []
  })
}
const secondWorkerdLane = workerdTestFiles().filter((file) => !firstWorkerdLane.includes(file))

const lanes: Step[][] = [
  [
    {
      name: 'vitest (workerd 1)',
      command: 'npx',
      args: ['vitest', 'run', '--project', 'workers', ...firstWorkerdLane, ...vitestArgs],
      env: {
        TEST_REDIS_URL: process.env.TEST_REDIS_URL_2 ?? 'redis://127.0.0.1:6379/13',
        RAPPORT_VITE_CACHE: 'node_modules/.vite/workerd-1',
      },
    },
  ],
  [
    {
      name: 'vitest (workerd 2)',
      live: true,
      command: 'npx',
      args: [
        'vitest',
        'run',
        '--project',
        'workers',
        '--project',
        'outage',
        ...secondWorkerdLane,
        ...vitestArgs,
      ],
      env: { RAPPORT_VITE_CACHE: 'node_modules/.vite/workerd-2' },
    },
  ],
  [{ name: 'vitest (node)', command: 'npx', args: ['vitest', 'run', '--project', 'node', ...vitestArgs] }],
  [
    { name: 'typecheck', command: 'npm', args: ['run', '--silent', 'typecheck'] },
    { name: 'lint', command: 'npm', args: ['run', '--silent', 'lint'] },
    { name: 'build:check', command: 'npm', args: ['run', '--silent', 'build:check'] },
  ],
]

const started = performance.now()
const elapsed = (since: number) => (performance.now() - since) / 1000

function run(step: Step): Promise<Outcome> {
  const since = performance.now()
  console.log(`▶ ${step.name}: ${[step.command, ...step.args].join(' ')}`)
  return new Promise((resolve) => {
    let output = ''
    const take = (chunk: Buffer) => {
      output += chunk.toString()
      if (!step.live) return
      const end = output.lastIndexOf('\n') + 1
      process.stdout.write(output.slice(0, end))
      output = output.slice(end)
    }
    const child = spawn(step.command, step.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...step.env },
    })
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    const finish = (ok: boolean, note = '') => {
      const seconds = elapsed(since)
      const rule = '─'.repeat(8)
      const header = step.live ? '' : `\n${rule} ${step.name} ${rule}\n`
      console.log(`${header}${output.trimEnd()}${note}`)
      console.log(`${ok ? '✔' : '✘'} ${step.name}: ${ok ? 'passed' : 'FAILED'} in ${seconds.toFixed(1)} s\n`)
      resolve({ name: step.name, ok, seconds })
    }
    child.on('error', (err) => finish(false, `\n${err.message}`))
    child.on('close', (code, signal) => finish(code === 0, signal ? `\nended by ${signal}` : ''))
  })
}

async function runLane(steps: Step[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = []
  for (const step of steps) outcomes.push(await run(step))
  return outcomes
}

const outcomes = (await Promise.all(lanes.map(runLane))).flat()
console.log(`npm test: ${elapsed(started).toFixed(1)} s wall`)
for (const o of outcomes)
  console.log(`  ${o.ok ? '✔' : '✘'} ${o.name.padEnd(18)} ${o.seconds.toFixed(1).padStart(6)} s`)
process.exitCode = outcomes.every((o) => o.ok) ? 0 : 1
