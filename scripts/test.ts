import { spawn } from 'node:child_process'

/**
 * `npm test`: the type-check, lint, the vitest suite and the deploy-bundle check, side by side
 * instead of one after another. On a two-core machine vitest runs one test file at a time (its
 * default is one worker per core but one), and much of each file's time is spent waiting on
 * PostgreSQL, Redis, sockets or `wrangler dev` starting, so the other core is mostly idle: the
 * static checks and the Node-side tests use it.
 *
 * Three lanes: the workerd projects in one vitest process, the Node project in another, and the
 * static checks one after another in the third. Both vitest runs and every `wrangler` run rewrite
 * the docs assets, which is safe while others read them (scripts/docs-assets.ts). The workerd
 * run's output streams as it comes; every other step's is printed whole when the step ends, under
 * its name, so lanes never interleave line by line. A summary with each step's time and result
 * comes last. Exits 1 when any step failed (every step still runs to the end, so one run reports
 * every failure).
 *
 * Arguments are passed to both vitest runs, e.g. `npm test -- --reporter=verbose`.
 */

interface Step {
  name: string
  command: string
  args: string[]
  /** Print the output as it comes (whole lines) rather than in one block at the end. */
  live?: boolean
}

interface Outcome {
  name: string
  ok: boolean
  seconds: number
}

const vitestArgs = process.argv.slice(2)
const lanes: Step[][] = [
  [
    {
      name: 'vitest (workerd)',
      live: true,
      command: 'npx',
      args: ['vitest', 'run', '--project', 'workers', '--project', 'outage', ...vitestArgs],
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
    const child = spawn(step.command, step.args, { stdio: ['ignore', 'pipe', 'pipe'] })
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
