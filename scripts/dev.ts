import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError, parseConfig } from '../src/config'
import { startEmbeddedPostgres } from './embedded/postgres'
import { startEmbeddedRedis } from './embedded/redis'
import { freePort, portIsFree } from './free-port'
import { type LocalStack, startLocalStack } from './local-stack'
import type { NeonStats } from './local-stack/neon-proxy'
import type { UpstashStats } from './local-stack/upstash-rest'
import { startPushFake } from './local-stack/push-fake'
import { generateVapidKeys } from './vapid-generate'
import { type SmtpSink, startSmtpSink } from './local-stack/smtp-sink'
import { type ThirdPartyFakes, ensureLocalPaidTier, startThirdPartyFakes } from './local-stack/third-parties'
import { type BootstrapAdmin, adminFromEnv, bootstrap } from './bootstrap'
import { startIpListServer } from './local-stack/ip-lists'
import { applyMigrations } from './migrate'

/**
 * `npm run dev`: one command from a fresh clone to a running Rapport.
 *
 * - PostgreSQL: DATABASE_URL when set, otherwise embedded PGlite persisted under .data/pglite.
 * - Redis: REDIS_URL when set, otherwise redis-server on PATH, otherwise an in-process stand-in
 *   (EMBEDDED_REDIS=in-process forces the latter).
 * - Applies migrations and bootstraps the first tier and an operator: the admin of ADMIN_* (shell
 *   or .dev.vars), otherwise a dev operator whose credentials are generated into
 *   .data/dev-operator.json and printed the first time.
 * - Mail: SMTP_HOST when set, otherwise a local SMTP sink whose caught messages (sign-in codes,
 *   notifications, moderation mails) the local mailbox page shows.
 * - Starts the Neon and Upstash stand-ins, then
 *   `wrangler dev` with the Worker pointed at the stand-ins, and prints the URLs once /health
 *   answers. Ctrl-C stops everything it started.
 */
const root = fileURLToPath(new URL('..', import.meta.url))

const say = (line: string) => console.log(`[rapport] ${line}`)

export interface RapportOptions {
  port: number
  /** Embedded PostgreSQL/Redis data, the generated JWT secret and wrangler's local state. */
  dataDir: string
  /** An existing PostgreSQL; embedded PGlite under `dataDir` otherwise. */
  databaseUrl?: string
  /** An existing Redis; embedded (per `embeddedRedis`) otherwise. */
  redisUrl?: string
  embeddedRedis?: string
  /** Worker variables passed with `--var`, overriding `.dev.vars` (e.g. JWT_SECRET, LOG_LEVEL). */
  vars?: Record<string, string>
  /** Where wrangler's own output goes: the terminal (default), nowhere, or an open file descriptor. */
  wranglerOutput?: 'inherit' | 'ignore' | number
  /** Progress lines ("PostgreSQL: …"); `[rapport]`-prefixed console lines by default. */
  log?: (line: string) => void
  /**
   * Run the Worker through wrangler's programmatic API with the DevTools inspector off
   * (scripts/wrangler-dev-api.ts) instead of the CLI, for benchmarks: the CLI's inspector costs
   * CPU per subrequest in wrangler's Node process that production does not have.
   */
  withoutInspector?: boolean
  /** The operator to bootstrap; ADMIN_* from the shell and .dev.vars when omitted. */
  admin?: BootstrapAdmin | null
  /** Called when wrangler exits, whoever stopped it. */
  onExit?: (code: number | null) => void
  /**
   * Stop functions are pushed here as each part starts, so a caller interrupted half-way through
   * start-up (Ctrl-C) can stop what is already running. `stop()` runs them too.
   */
  stoppers?: (() => Promise<unknown>)[]
}

export interface RunningRapport {
  /** `http://127.0.0.1:<port>`, answering /health. */
  url: string
  databaseUrl: string
  /** The local Google/Apple, Stripe and RevenueCat stand-ins the Worker is pointed at. */
  fakes: ThirdPartyFakes
  /**
   * What the Worker has asked of the Neon and Upstash stand-ins since they started: requests, statements or
   * commands, rows, and sequential round trips (merged spans; see scripts/local-stack/trip-log.ts). Benches read
   * it before and after a step. Zeros until the stand-ins are up.
   */
  counters(): { neon: NeonStats; upstash: UpstashStats }
  /** Stop everything that was started, last started first. */
  stop(): Promise<void>
}

export function readDevVars(): Record<string, string> {
  const file = join(root, '.dev.vars')
  if (!existsSync(file)) return {}
  const vars: Record<string, string> = {}
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line)
    if (match) vars[match[1]!] = match[2]!.replace(/^"(.*)"$/, '$1')
  }
  return vars
}

/** A JWT secret that survives restarts (so dev tokens keep working), generated once. */
function devJwtSecret(dataDir: string): string {
  const file = join(dataDir, 'jwt-secret')
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 })
  return readFileSync(file, 'utf8').trim()
}

/** A VAPID key pair that survives restarts (browser subscriptions are bound to it), generated once. */
async function devVapidKeys(dataDir: string): Promise<{ publicKey: string; privateKey: string }> {
  const file = join(dataDir, 'vapid.json')
  if (!existsSync(file)) writeFileSync(file, JSON.stringify(await generateVapidKeys()), { mode: 0o600 })
  return JSON.parse(readFileSync(file, 'utf8')) as { publicKey: string; privateKey: string }
}

/** `wrangler dev` (or its programmatic API) in its own process group. */
function startWrangler(port: number, dataDir: string, vars: Record<string, string>, opts: RapportOptions) {
  const args = opts.withoutInspector
    ? ['tsx', 'scripts/wrangler-dev-api.ts', String(port), join(dataDir, 'wrangler'), JSON.stringify(vars)]
    : [
        'wrangler',
        'dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--persist-to',
        join(dataDir, 'wrangler'),
      ]
  if (!opts.withoutInspector) {
    for (const [key, value] of Object.entries(vars)) args.push('--var', `${key}:${value}`)
    args.push('--show-interactive-dev-session=false')
  }
  const output = opts.wranglerOutput ?? 'inherit'
  // Own process group: wrangler starts workerd children, and Ctrl-C must stop all of them.
  return spawn('npx', args, {
    cwd: root,
    detached: true,
    stdio: ['ignore', output, output],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  })
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`)
    try {
      const res = await fetch(`${url}/health`)
      if (res.ok) return
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 150))
  }
  throw new Error(`no answer from ${url}/health within ${timeoutMs / 1000} s`)
}

/**
 * Start the whole local Rapport — PostgreSQL and Redis (given or embedded), migrations, the Neon
 * and Upstash stand-ins, `wrangler dev` — and resolve once `/health` answers. What `npm run dev`
 * runs, and what benchmarks start.
 *
 * @example
 * const rapport = await startRapport({ port: 8787, dataDir: '.data' })
 * await fetch(`${rapport.url}/health`)
 * await rapport.stop()
 */
export async function startRapport(opts: RapportOptions): Promise<RunningRapport> {
  const { port, dataDir } = opts
  const log = opts.log ?? say
  const stoppers = opts.stoppers ?? []
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    for (const s of stoppers.splice(0).reverse()) await s().catch(() => {})
  }

  mkdirSync(dataDir, { recursive: true })
  if (!(await portIsFree(port))) throw new Error(`port ${port} is taken; set PORT=… to use another`)

  // Ports are chosen first so that wrangler, which takes seconds to start and needs only the
  // addresses, starts at once: PostgreSQL, Redis, the stand-ins, migrations and the reference data
  // load (seconds on a first start) all run while it does.
  const ports = { postgres: await freePort(), neon: await freePort(), upstash: await freePort() }
  const databaseUrl = opts.databaseUrl ?? `postgres://postgres@127.0.0.1:${ports.postgres}/postgres`
  const upstashToken = randomBytes(16).toString('hex')
  // Sign-in providers and purchases: local stand-ins, unless .dev.vars configures real ones.
  const url = `http://127.0.0.1:${port}`
  const fakes = await startThirdPartyFakes({ apiUrl: url })
  stoppers.push(() => fakes.stop())
  log(`sign-in and purchase fakes: ${fakes.idp.url} (Google/Apple keys), ${fakes.stripe.url} (Stripe)`)

  // The IP reputation lists: the repository's sample files, served over HTTP like the real lists.
  const ipLists = await startIpListServer()
  stoppers.push(() => ipLists.close())

  // Expo and Web Push stand-ins: what they caught is on their page (logged below).
  const pushFake = await startPushFake()
  stoppers.push(() => pushFake.close())
  log(`push: Expo and Web Push stand-in on ${pushFake.url} (what it caught: ${pushFake.url}/)`)
  const vapid = await devVapidKeys(dataDir)

  const devVars = readDevVars()
  const vars: Record<string, string> = {
    EXPO_PUSH_URL: pushFake.expoUrl,
    ...(devVars.VAPID_PUBLIC_KEY
      ? {}
      : { VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey }),
    ...Object.fromEntries(Object.entries(fakes.vars).filter(([key]) => devVars[key] === undefined)),
    IP_REPUTATION_LISTS: ipLists.setting,
    DATABASE_URL: databaseUrl,
    NEON_LOCAL_PROXY: `127.0.0.1:${ports.neon}`,
    UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${ports.upstash}`,
    UPSTASH_REDIS_REST_TOKEN: upstashToken,
    ...(devVars.JWT_SECRET || opts.vars?.JWT_SECRET ? {} : { JWT_SECRET: devJwtSecret(dataDir) }),
    // Media URLs point at this dev server unless .dev.vars names another address (a tunnel, say).
    ...(devVars.PUBLIC_URL ? {} : { PUBLIC_URL: `http://127.0.0.1:${port}` }),
    ...opts.vars,
  }
  // Fail before starting anything, naming every bad variable, rather than on the first request.
  parseConfig({ ENVIRONMENT: 'local', ...devVars, ...vars })
  const wrangler = startWrangler(port, dataDir, vars, opts)
  stoppers.push(async () => {
    if (wrangler.exitCode === null && wrangler.pid) {
      process.kill(-wrangler.pid, 'SIGTERM')
      await new Promise((r) => setTimeout(r, 300))
      if (wrangler.exitCode === null) process.kill(-wrangler.pid, 'SIGKILL')
    }
  })
  wrangler.on('exit', (code) => opts.onExit?.(code))

  // PostgreSQL and Redis start side by side; neither needs the other.
  const startPostgres = async (): Promise<void> => {
    if (opts.databaseUrl) {
      log(`PostgreSQL: ${new URL(opts.databaseUrl).host} (DATABASE_URL)`)
      return
    }
    const pg = await startEmbeddedPostgres({ dataDir: join(dataDir, 'pglite'), port: ports.postgres })
    stoppers.push(() => pg.stop())
    log(
      `PostgreSQL: embedded PGlite on 127.0.0.1:${pg.port} (data in ${relative(process.cwd(), join(dataDir, 'pglite'))})`,
    )
  }
  const startRedis = async (): Promise<Awaited<ReturnType<typeof startEmbeddedRedis>>['client'] | string> => {
    if (opts.redisUrl) {
      log(`Redis: ${new URL(opts.redisUrl).host} (REDIS_URL)`)
      return opts.redisUrl
    }
    const prefer = opts.embeddedRedis ?? 'auto'
    if (prefer !== 'auto' && prefer !== 'redis-server' && prefer !== 'in-process') {
      throw new Error(`EMBEDDED_REDIS must be auto, redis-server or in-process (got "${prefer}")`)
    }
    const embedded = await startEmbeddedRedis({ dataDir: join(dataDir, 'redis'), prefer })
    stoppers.push(() => embedded.stop())
    log(
      `Redis: embedded (${embedded.kind === 'redis-server' ? `redis-server at ${embedded.url}` : 'in-process'})`,
    )
    return embedded.client
  }
  let stack: LocalStack | undefined
  const prepareDatabase = async () => {
    const [, redis] = await Promise.all([startPostgres(), startRedis()])
    stack = await startLocalStack({
      databaseUrl,
      redis,
      upstashToken,
      neonPort: ports.neon,
      upstashPort: ports.upstash,
    })
    const started = stack
    stoppers.push(() => started.stop())
    const { applied, places } = await applyMigrations(databaseUrl)
    log(`migrations: ${applied} applied; ${places} places`)
    // First tier (TIER_NAME) and the operator; idempotent.
    await bootstrap({
      databaseUrl,
      tierName: process.env.TIER_NAME || 'free',
      admin: opts.admin !== undefined ? opts.admin : adminFromEnv({ ...readDevVars(), ...process.env }),
      log: (line) => log(line),
    })
    await ensureLocalPaidTier(databaseUrl, fakes.paidTier)
  }

  try {
    // Ready means both: the Worker answers and the database has its schema and data.
    await Promise.all([prepareDatabase(), waitForHealth(url, wrangler, 60_000)])
  } catch (err) {
    // Callers that passed their own stoppers stop them themselves (npm run dev does).
    if (!opts.stoppers) await stop()
    throw err
  }
  const zeros = { requests: 0, roundTrips: 0, spans: [] }
  const counters = () => ({
    neon: stack?.neon.stats() ?? { ...zeros, statements: 0, rows: 0 },
    upstash: stack?.upstash.server.stats() ?? { ...zeros, commands: 0 },
  })
  return { url, databaseUrl, fakes, counters, stop }
}

// ---------------------------------------------------------------------------------------------
// `npm run dev`

export interface DevOperator extends BootstrapAdmin {
  created: boolean
}

/**
 * The operator `npm run dev` bootstraps when no ADMIN_* is configured: generated once into
 * `<dataDir>/dev-operator.json` (mode 600) and reused, so it survives restarts like the data.
 * Local only: staging and production are bootstrapped with ADMIN_* (`npm run bootstrap`).
 */
export function devOperator(dataDir: string): DevOperator {
  const file = join(dataDir, 'dev-operator.json')
  if (existsSync(file))
    return { ...(JSON.parse(readFileSync(file, 'utf8')) as BootstrapAdmin), created: false }
  const operator: BootstrapAdmin = {
    name: 'Dev Operator',
    email: 'dev-operator@example.com',
    username: 'dev',
    password: randomBytes(12).toString('base64url'),
  }
  writeFileSync(file, JSON.stringify(operator, null, 2) + '\n', { mode: 0o600 })
  return { ...operator, created: true }
}

/** Mail settings for the Worker: the developer's own SMTP server, or the local sink. */
async function localMail(
  devVars: Record<string, string>,
  stoppers: (() => Promise<unknown>)[],
): Promise<{ vars: Record<string, string>; sink: SmtpSink | null }> {
  if (process.env.SMTP_HOST || devVars.SMTP_HOST) return { vars: {}, sink: null }
  // A stable address to bookmark; any free port when it is taken (another checkout's dev).
  const wanted = Number(process.env.MAILBOX_PORT ?? 8025)
  const sink = await startSmtpSink({ apiPort: (await portIsFree(wanted)) ? wanted : 0 })
  stoppers.push(() => sink.close())
  return {
    sink,
    vars: {
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(sink.smtpPort),
      SMTP_USER: sink.user,
      SMTP_PASS: sink.pass,
      SMTP_SECURE: 'none',
      SMTP_FROM: 'Rapport <no-reply@rapport.localhost>',
    },
  }
}

async function main() {
  const started = Date.now()
  // RAPPORT_DATA_DIR moves the embedded data elsewhere (the start-up benchmark uses a scratch dir).
  const dataDir = process.env.RAPPORT_DATA_DIR ?? join(root, '.data')
  const port = Number(process.env.PORT ?? 8787)
  const stoppers: (() => Promise<unknown>)[] = []

  let stopping = false
  async function stopAll(code: number): Promise<void> {
    // Ctrl-C reaches us and (through its exit) wrangler's handler too: stop once.
    if (stopping) return
    stopping = true
    say('stopping…')
    for (const stop of stoppers.reverse()) await stop().catch(() => {})
    process.exit(code)
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void stopAll(0))
  }

  try {
    const devVars = readDevVars()
    const environment = process.env.ENVIRONMENT ?? devVars.ENVIRONMENT ?? 'local'
    if (environment !== 'local')
      throw new Error(`npm run dev runs ENVIRONMENT=local only (got "${environment}")`)
    mkdirSync(dataDir, { recursive: true })
    const configured = adminFromEnv({ ...devVars, ...process.env })
    const operator = configured ? null : devOperator(dataDir)
    const mail = await localMail(devVars, stoppers)
    const { url } = await startRapport({
      port,
      dataDir,
      databaseUrl: process.env.DATABASE_URL,
      redisUrl: process.env.REDIS_URL,
      embeddedRedis: process.env.EMBEDDED_REDIS,
      admin: configured ?? operator,
      vars: mail.vars,
      stoppers,
      onExit: (code) => {
        if (!stopping) say(`wrangler dev exited (${code ?? 'signal'})`)
        void stopAll(code ?? 1)
      },
    })
    say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    say(`API:  ${url}`)
    say(`Docs: ${url}/docs  (OpenAPI: ${url}/openapi.json)`)
    if (mail.sink) {
      say(`Mail: ${mail.sink.apiUrl}/ (local mailbox; JSON: ${mail.sink.apiUrl}/messages?to=<address>)`)
    }
    if (operator?.created) {
      say(`Dev operator created: username ${operator.username}, password ${operator.password}`)
      say(
        `  (POST ${url}/api/v1/login; kept in ${relative(process.cwd(), join(dataDir, 'dev-operator.json'))})`,
      )
    } else if (operator) {
      say(
        `Dev operator: username ${operator.username}, password in ${relative(process.cwd(), join(dataDir, 'dev-operator.json'))}`,
      )
    }
    say('Ctrl-C stops everything.')
  } catch (err: unknown) {
    if (err instanceof ConfigError) {
      console.error('[rapport] invalid configuration:')
      for (const p of err.problems) console.error(`  ${p.variable} ${p.message}`)
    } else {
      console.error('[rapport] failed to start:', err instanceof Error ? err.message : err)
    }
    void stopAll(1)
  }
}

// Run only as a script (`tsx scripts/dev.ts`), not when a benchmark imports startRapport.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main()
