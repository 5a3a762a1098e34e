import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import IORedis from 'ioredis'
import pg from 'pg'
import WebSocket from 'ws'
import { type RunningRapport, startRapport } from '../scripts/dev'
import { parseConfig } from '../src/config'
import { signAccessToken } from '../src/services/accounts/tokens'
import { type Profile, bundleFrameNamer, hotFunctions, profile, workerdProcesses } from './profile'

/**
 * `npm run bench:chat`: chat over `wrangler dev` with real PostgreSQL and Redis, measured from
 * real `ws` clients. 100 conversations (200 members, `--pairs`), every member holding a
 * conversation socket and an inbox socket. After each pair's intro and reply (intros have
 * uniqueness and daily limits; what follows are chats), every member sends `--messages` chat
 * messages at an aggregate `--rate` (messages/s, open loop: a send does not wait for the previous
 * ack; `--rate 0` = closed loop, each member sends as soon as its previous message was acked).
 *
 * Measured per message, all on one process clock (the clients run in a child process of their
 * own, so they do not share an event loop with the Neon and Upstash stand-ins, which run in
 * this one): `send` → the sender's `ack`, `send` → the recipient's conversation-socket `message`,
 * `send` → the recipient's inbox-socket `message`. Reported: p50/p95/p99/max, the aggregate
 * messages/s over the steady phase (first send to last delivery), and the counts that must be
 * zero — lost (acked, never delivered), duplicated (delivered twice), out of order, refused,
 * unacknowledged — checked against PostgreSQL's row count too. Exits non-zero when a count is
 * not zero or a target is missed (p50 ≤ 15 ms, p99 ≤ 50 ms, ≥ 500 messages/s).
 *
 *   tsx bench/chat.ts [--pairs 100] [--messages 30] [--rate 550] [--no-hubs] [--no-deflate]
 *
 * The clients offer permessage-deflate as browsers do, so the server compresses what it sends
 * and the clients inflate it; `--no-deflate` leaves compression out (the clients' inflating
 * costs about 0.3 ms of CPU per message on the shared cores, the server's compressing little).
 * BENCH_GC=1 prints the clients' own collector pauses of 5 ms or more (wall clock), to line up
 * with the timeline.
 * BENCH_TIMELINE=1 also prints delivery latency per half second of the steady phase, to tell a
 * stall (every message of one moment late) from general queueing.
 *
 * PostgreSQL: a fresh database on TEST_PG_URL's server (default postgres://postgres@127.0.0.1/postgres),
 * dropped afterwards. Redis: BENCH_REDIS_URL (default redis://127.0.0.1:6379/7; that logical
 * database is flushed). The load average is printed with the results: on a shared 2-CPU
 * machine, other work distorts the latencies.
 *
 * The harness (stack, members, socket client) is exported for test/chat-e2e.node.test.ts.
 */

const root = fileURLToPath(new URL('..', import.meta.url))

// -------------------------------------------------------------------------------------------------
// Harness: Rapport over wrangler dev on a fresh database, members, socket clients

export interface ChatStack {
  url: string
  databaseUrl: string
  /** node-postgres pool on the stack's database, for setup and checks. */
  pool: pg.Pool
  /** The sign-in and purchase stand-ins the Worker talks to. */
  fakes: RunningRapport['fakes']
  /** Stops wrangler dev (its process group) and the stand-ins, drops the database, flushes Redis. */
  stop(): Promise<void>
}

export interface Member {
  id: string
  token: string
}

const jwtVars = {
  JWT_SECRET: randomBytes(32).toString('hex'),
  JWT_ALGORITHM: 'HS256',
  JWT_ISSUER: 'rapport',
  JWT_AUDIENCE: 'rapport-api',
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number }
        server.close(() => resolve(port))
      })
  })
}

/**
 * Start Rapport the way `npm run dev` does, on a fresh database of the real PostgreSQL and a
 * logical Redis database of its own, with wrangler's DevTools inspector detached (what a deployed
 * Worker does not pay for). Members are then made with {@link createMembers}.
 *
 * @example
 * const stack = await startChatStack({ redisUrl: 'redis://127.0.0.1:6379/7', dataDir })
 * const [alice, bob] = await createMembers(stack, 2)
 */
export async function startChatStack(opts: {
  redisUrl: string
  dataDir: string
  wranglerOutput?: 'inherit' | 'ignore' | number
  log?: (line: string) => void
  inspector?: boolean
  /** More Worker variables (e.g. EXPO_PUSH_URL for a push fake of the caller's). */
  vars?: Record<string, string>
}): Promise<ChatStack> {
  const adminUrl = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const dbName = `rapport_chat_${process.pid}_${randomBytes(3).toString('hex')}`
  const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString()
  const redis = new IORedis(opts.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  await redis.flushdb()
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`create database ${dbName}`)

  let rapport: Awaited<ReturnType<typeof startRapport>> | undefined
  let pool: pg.Pool | undefined
  const stop = async () => {
    await pool?.end().catch(() => {})
    await rapport?.stop()
    await admin.query(`drop database if exists ${dbName} with (force)`).catch(() => {})
    await admin.end().catch(() => {})
    await redis.flushdb().catch(() => {})
    redis.disconnect()
  }
  try {
    rapport = await startRapport({
      port: await freePort(),
      dataDir: opts.dataDir,
      databaseUrl,
      redisUrl: opts.redisUrl,
      vars: {
        ...jwtVars,
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
        DEFAULT_RATE_LIMIT_LIMIT: '1000000',
        ...opts.vars,
      },
      wranglerOutput: opts.wranglerOutput ?? 'ignore',
      // BENCH_INSPECTOR=1: the CLI with its DevTools inspector, as `npm run dev` runs (the Worker's
      // console output shows in wrangler's log only then); needed for profiling.
      withoutInspector: opts.inspector !== true,
      log: opts.log ?? (() => {}),
    })
    pool = new pg.Pool({ connectionString: databaseUrl, max: 4 })
  } catch (err) {
    await stop()
    throw err
  }
  return { url: rapport.url, databaseUrl, pool, fakes: rapport.fakes, stop }
}

/**
 * `n` onboarded members with a live session each, straight into the database in one transaction
 * (the OTP route's per-IP limits would make 200 sign-ins slow); their access tokens are signed
 * with the stack's JWT secret, as the sign-in route would.
 */
export async function createMembers(stack: ChatStack, n: number): Promise<Member[]> {
  const jwt = parseConfig({
    ...jwtVars,
    DATABASE_URL: stack.databaseUrl,
    UPSTASH_REDIS_REST_URL: 'http://127.0.0.1',
    UPSTASH_REDIS_REST_TOKEN: 'x',
  }).jwt
  const ids = Array.from({ length: n }, () => randomUUID())
  const sessions = ids.map(() => randomUUID())
  const tag = randomBytes(3).toString('hex')
  const client = await stack.pool.connect()
  try {
    await client.query('begin')
    const {
      rows: [tier],
    } = await client.query<{ id: string }>('select id from tiers order by created_at limit 1')
    await client.query(
      `insert into users (id, email, email_display, name, status, tier_id)
       select id, 'chat-' || id || '@example.com', 'chat-' || id || '@example.com', 'Member ' || ord, 'active', $2
       from unnest($1::uuid[]) with ordinality as t(id, ord)`,
      [ids, tier?.id ?? null],
    )
    await client.query(
      `insert into profiles (user_id, url_slug, date_of_birth, place_id, latitude, longitude, gender,
         seeking_genders, onboarded_at)
       select t.id, 'chat-${tag}-' || t.ord, '1994-05-17', p.id, p.latitude, p.longitude,
         case when t.ord % 2 = 0 then 'woman'::gender else 'man'::gender end, array['man', 'woman']::gender[], now()
       from unnest($1::uuid[]) with ordinality as t(id, ord),
         (select id, latitude, longitude from places order by population desc nulls last limit 1) p`,
      [ids],
    )
    await client.query(
      `insert into sessions (id, user_id, client, ip, expires_at)
       select s, u, 'mobile', '127.0.0.1', now() + interval '1 day'
       from unnest($1::uuid[], $2::uuid[]) as t(s, u)`,
      [sessions, ids],
    )
    await client.query('commit')
  } catch (err) {
    await client.query('rollback')
    throw err
  } finally {
    client.release()
  }
  const now = new Date()
  return Promise.all(
    ids.map(async (id, i) => ({
      id,
      token: (
        await signAccessToken(jwt, { userId: id, sessionId: sessions[i]!, role: 'member', tierId: null }, now)
      ).token,
    })),
  )
}

export type Frame = { type: string; [field: string]: unknown }

/**
 * A `ws` client of one of Rapport's sockets (bearer token at upgrade, `rapport.v1` subprotocol).
 * Frames are kept for {@link next} unless an `onFrame` handler consumes them (the bench, which
 * only needs timestamps).
 */
export class ChatSocket {
  readonly frames: Frame[] = []
  onFrame?: (frame: Frame, at: number) => void
  readonly closed: Promise<{ code: number; reason: string }>
  private waiters: (() => void)[] = []

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() })
        this.wake()
      }),
    )
    ws.on('message', (data) => {
      const at = performance.now()
      const frame = JSON.parse(data.toString()) as Frame
      if (this.onFrame) this.onFrame(frame, at)
      else {
        this.frames.push(frame)
        this.wake()
      }
    })
  }

  /**
   * Open `path` on `baseUrl` (http://…) as `token`'s member; rejects on anything but a 101.
   * `deflate`: offer permessage-deflate, as browsers do (the server then compresses its frames).
   */
  static open(
    baseUrl: string,
    path: string,
    token: string,
    { timeoutMs = 10_000, deflate = true }: { timeoutMs?: number; deflate?: boolean } = {},
  ): Promise<ChatSocket> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}`, ['rapport.v1'], {
      headers: { Authorization: `Bearer ${token}` },
      handshakeTimeout: timeoutMs,
      perMessageDeflate: deflate,
    })
    const socket = new ChatSocket(ws)
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(socket))
      ws.once('unexpected-response', (_req, res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c))
        res.on('end', () => reject(new Error(`${path}: HTTP ${res.statusCode} ${body}`)))
      })
      ws.once('error', reject)
    })
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w()
  }

  /** The first kept frame matching `predicate` (removed from {@link frames}), waiting for it. */
  async next(predicate: (f: Frame) => boolean = () => true, timeoutMs = 5_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = this.frames.findIndex(predicate)
      if (i >= 0) return this.frames.splice(i, 1)[0]!
      const left = deadline - Date.now()
      if (this.ws.readyState === WebSocket.CLOSED) {
        // 1006 from every socket at once: wrangler dev restarted the Worker (a source file changed).
        const { code, reason } = await this.closed
        throw new Error(
          `socket closed (${code} ${reason}) before a matching frame; have ${JSON.stringify(this.frames)}`,
        )
      }
      if (left <= 0) {
        throw new Error(`no matching frame within ${timeoutMs} ms; have ${JSON.stringify(this.frames)}`)
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Everything that arrives within `ms`, removed from {@link frames}. */
  async drain(ms = 300): Promise<Frame[]> {
    await new Promise((resolve) => setTimeout(resolve, ms))
    return this.frames.splice(0)
  }

  send(frame: object): void {
    this.ws.send(JSON.stringify(frame))
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return
    this.ws.close(1000, 'bye')
    const timer = setTimeout(() => this.ws.terminate(), 2_000)
    await this.closed
    clearTimeout(timer)
  }
}

/** A member's conversation socket with `peerId`, after its `hello`. */
export async function openConversation(
  url: string,
  me: Member,
  peerId: string,
  deflate = true,
): Promise<ChatSocket> {
  const socket = await ChatSocket.open(url, `/api/v1/conversations/${peerId}/socket`, me.token, { deflate })
  await socket.next((f) => f.type === 'hello', 10_000)
  return socket
}

/** A member's inbox socket, after its `hello`. */
export async function openHub(url: string, me: Member, deflate = true): Promise<ChatSocket> {
  const socket = await ChatSocket.open(url, '/api/v1/hub/socket', me.token, { deflate })
  await socket.next((f) => f.type === 'hello', 10_000)
  return socket
}

// -------------------------------------------------------------------------------------------------
// The bench's clients (run in a child process)

interface ClientJob {
  url: string
  pairs: [Member, Member][]
  messages: number
  rate: number
  hubs: boolean
  deflate: boolean
}

interface Sample {
  ack: number[]
  delivery: number[]
  hub: number[]
}

export interface ClientResult {
  sent: number
  acked: number
  delivered: number
  hubDelivered: number
  lost: number
  duplicated: number
  outOfOrder: number
  refused: Record<string, number>
  unacked: number
  /** Sockets the server closed during the run (a Worker restart, a crash). */
  closedByServer: number
  closeCodes: Record<string, number>
  steadySeconds: number
  setupSeconds: number
  /** CPU seconds the clients' process used in the steady phase. */
  clientCpuSeconds: number
  samples: Sample
}

/** Run `task` over `items`, at most `width` at a time. */
async function inBatches<T>(items: T[], width: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!)
    }),
  )
}

interface Tracked {
  sender: string
  sentAt: number
  ackAt?: number
  seq?: number
  deliveredAt?: number
  deliveries: number
  hubAt?: number
}

async function runClients(job: ClientJob, progress: (line: string) => void): Promise<ClientResult> {
  const setupStart = performance.now()
  const members = job.pairs.flat()
  const peerOf = new Map<string, string>()
  for (const [a, b] of job.pairs) {
    peerOf.set(a.id, b.id)
    peerOf.set(b.id, a.id)
  }
  const conv = new Map<string, ChatSocket>()
  const hubs = new Map<string, ChatSocket>()
  await inBatches(members, 16, async (m) => {
    conv.set(m.id, await openConversation(job.url, m, peerOf.get(m.id)!, job.deflate))
    if (job.hubs) hubs.set(m.id, await openHub(job.url, m, job.deflate))
  })
  const extensions = [...conv.values()][0]?.ws.extensions || 'none'
  progress(
    `${conv.size} conversation sockets${job.hubs ? ` and ${hubs.size} inbox sockets` : ''} open (extensions: ${extensions})`,
  )

  // Intro and reply per pair, outside the measurement.
  await inBatches(job.pairs, 16, async ([a, b]) => {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const clientId = randomUUID()
      conv.get(from.id)!.send({ type: 'send', clientId, body: `Hello, I am ${from.id} (${randomUUID()})` })
      const ack = await conv.get(from.id)!.next((f) => f.clientId === clientId, 15_000)
      if (ack.type !== 'ack') throw new Error(`intro refused: ${JSON.stringify(ack)}`)
      const where = `${from === a ? 'intro' : 'reply'} ${clientId} from ${from.id} to ${to.id}`
      await conv
        .get(to.id)!
        .next(
          (f) => f.type === 'message' && (f.message as { clientId: string }).clientId === clientId,
          15_000,
        )
        .catch((err: Error) => Promise.reject(new Error(`${where}: conversation socket: ${err.message}`)))
      if (job.hubs) {
        await hubs
          .get(to.id)!
          .next((f) => f.type === 'message', 15_000)
          .catch((err: Error) => Promise.reject(new Error(`${where}: inbox socket: ${err.message}`)))
      }
    }
  })
  progress('intros and replies done; measuring')
  for (const s of [...conv.values(), ...hubs.values()]) s.frames.splice(0)

  const tracked = new Map<string, Tracked>()
  const refused: Record<string, number> = {}
  let duplicated = 0
  let outOfOrder = 0
  let lastEvent = 0
  let outstanding = 0
  let allSent = false
  let settle: () => void = () => {}
  const settled = new Promise<void>((resolve) => (settle = resolve))
  const checkDone = () => {
    if (allSent && outstanding === 0) settle()
  }
  let closing = false
  let closedByServer = 0
  const closeCodes: Record<string, number> = {}
  for (const socket of [...conv.values(), ...hubs.values()]) {
    void socket.closed.then(({ code }) => {
      if (closing) return
      closedByServer++
      closeCodes[code] = (closeCodes[code] ?? 0) + 1
      // Its messages will never be acknowledged: stop waiting for them.
      settle()
    })
  }
  const lastSeq = new Map<string, number>()
  const sendNext = new Map<string, () => void>()

  for (const m of members) {
    const peer = peerOf.get(m.id)!
    conv.get(m.id)!.onFrame = (f, at) => {
      if (f.type === 'ack') {
        const t = tracked.get(f.clientId as string)
        if (!t || t.ackAt !== undefined) return
        t.ackAt = at
        t.seq = f.seq as number
        sendNext.get(m.id)?.()
      } else if (f.type === 'message') {
        const msg = f.message as { clientId: string; senderId: string; seq: number }
        if (msg.senderId !== peer) return
        const t = tracked.get(msg.clientId)
        if (!t) return
        t.deliveries++
        if (t.deliveries > 1) {
          duplicated++
          return
        }
        if (msg.seq <= (lastSeq.get(m.id) ?? 0)) outOfOrder++
        lastSeq.set(m.id, msg.seq)
        t.deliveredAt = at
        lastEvent = at
        outstanding--
        checkDone()
      } else if (f.type === 'error') {
        const t = tracked.get(f.clientId as string)
        refused[String(f.code)] = (refused[String(f.code)] ?? 0) + 1
        if (t && t.deliveredAt === undefined) {
          t.deliveredAt = -1
          outstanding--
          checkDone()
        }
        sendNext.get(m.id)?.()
      }
    }
    const hub = hubs.get(m.id)
    if (hub) {
      hub.onFrame = (f, at) => {
        if (f.type !== 'message') return
        const t = tracked.get((f.message as { clientId: string }).clientId)
        if (t && t.hubAt === undefined) t.hubAt = at
      }
    }
  }

  const steadyStart = performance.now()
  const cpuStart = process.cpuUsage()
  const send = (m: Member, n: number) => {
    const clientId = randomUUID()
    tracked.set(clientId, { sender: m.id, sentAt: performance.now(), deliveries: 0 })
    outstanding++
    conv.get(m.id)!.send({ type: 'send', clientId, body: `message ${n} from ${m.id.slice(0, 8)}` })
  }
  if (job.rate > 0) {
    // Open loop: each member sends every `interval` ms from a random offset, drift-corrected.
    const interval = (members.length / job.rate) * 1000
    await Promise.all(
      members.map(async (m) => {
        const start = steadyStart + Math.random() * interval
        for (let n = 0; n < job.messages; n++) {
          const wait = start + n * interval - performance.now()
          if (wait > 0) await new Promise((r) => setTimeout(r, wait))
          if (closedByServer > 0) return
          send(m, n)
        }
      }),
    )
  } else {
    // Closed loop: the next message goes when the previous one was acknowledged (or refused).
    await Promise.all(
      members.map(
        (m) =>
          new Promise<void>((resolve) => {
            let n = 0
            const go = () => {
              if (n === job.messages || closedByServer > 0) {
                sendNext.delete(m.id)
                return resolve()
              }
              send(m, n++)
            }
            sendNext.set(m.id, go)
            go()
          }),
      ),
    )
  }
  allSent = true
  checkDone()
  await Promise.race([settled, new Promise((r) => setTimeout(r, 15_000))])
  // Late duplicates and inbox frames.
  await new Promise((r) => setTimeout(r, 500))
  const steadySeconds = (lastEvent - steadyStart) / 1000
  const clientCpu = process.cpuUsage(cpuStart)

  const samples: Sample = { ack: [], delivery: [], hub: [] }
  let acked = 0
  let delivered = 0
  let hubDelivered = 0
  let lost = 0
  let unacked = 0
  for (const t of tracked.values()) {
    if (t.ackAt !== undefined) {
      acked++
      samples.ack.push(t.ackAt - t.sentAt)
    }
    if (t.deliveredAt !== undefined && t.deliveredAt >= 0) {
      delivered++
      samples.delivery.push(t.deliveredAt - t.sentAt)
    } else if (t.ackAt !== undefined) lost++
    if (t.ackAt === undefined && t.deliveredAt !== -1) unacked++
    if (t.hubAt !== undefined) {
      hubDelivered++
      samples.hub.push(t.hubAt - t.sentAt)
    }
  }
  if (process.env.BENCH_TIMELINE === '1') {
    // Diagnostic: delivery latency by half-second of send time.
    progress(`steady phase from ${new Date(Date.now() - (performance.now() - steadyStart)).toISOString()}`)
    const buckets = new Map<number, number[]>()
    for (const t of tracked.values()) {
      if (t.deliveredAt === undefined || t.deliveredAt < 0) continue
      const b = Math.floor((t.sentAt - steadyStart) / 500)
      if (!buckets.has(b)) buckets.set(b, [])
      buckets.get(b)!.push(t.deliveredAt - t.sentAt)
    }
    for (const [b, xs] of [...buckets].sort((x, y) => x[0] - y[0])) {
      xs.sort((x, y) => x - y)
      progress(
        `t=${(b / 2).toFixed(1)}s n=${xs.length} p50 ${xs[xs.length >> 1]!.toFixed(1)} max ${xs[xs.length - 1]!.toFixed(1)}`,
      )
    }
  }
  const stuck = [...tracked].filter(([, t]) => t.ackAt === undefined || t.deliveredAt === undefined)
  for (const [clientId, t] of stuck.slice(0, 5)) {
    progress(
      `not acked or not delivered: ${clientId} from ${t.sender} sent at +${(t.sentAt - steadyStart).toFixed(0)} ms, ` +
        `ack ${t.ackAt === undefined ? 'none' : `+${(t.ackAt - steadyStart).toFixed(0)} ms`}`,
    )
  }
  closing = true
  await Promise.all([...conv.values(), ...hubs.values()].map((s) => s.close()))
  return {
    sent: tracked.size,
    acked,
    delivered,
    hubDelivered,
    lost,
    duplicated,
    outOfOrder,
    refused,
    unacked,
    closedByServer,
    closeCodes,
    steadySeconds,
    setupSeconds: (steadyStart - setupStart) / 1000,
    clientCpuSeconds: (clientCpu.user + clientCpu.system) / 1e6,
    samples,
  }
}

// -------------------------------------------------------------------------------------------------
// The bench itself

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

function describe(name: string, values: number[]): string {
  const s = [...values].sort((a, b) => a - b)
  const f = (x: number) => `${x.toFixed(1).padStart(6)} ms`
  return (
    `${name.padEnd(26)} p50 ${f(percentile(s, 50))}  p95 ${f(percentile(s, 95))}  p99 ${f(percentile(s, 99))}  ` +
    `max ${f(s[s.length - 1] ?? NaN)}  (${s.length})`
  )
}

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const value = Number(process.argv[i + 1])
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number ≥ 0`)
  return value
}

/** /proc's clock ticks per second (`getconf CLK_TCK`; 100 on Linux). */
const clockTicks = 100

/**
 * CPU seconds (user + system) by process: this process's descendants (wrangler's Node, the two
 * workerd processes, the clients) by command name — workerd by pid, since its runtime and proxy
 * are told apart only by their ports — plus the PostgreSQL backends serving `database`.
 */
function processCpu(database: string): Map<string, number> {
  const parent = new Map<number, number>()
  const info = new Map<number, { comm: string; cpu: number }>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const fields = stat.slice(close + 2).split(' ')
      let comm = stat.slice(stat.indexOf('(') + 1, close)
      if (comm === 'postgres') {
        if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(` ${database} `)) continue
        comm = 'PostgreSQL backends'
      }
      parent.set(Number(entry), Number(fields[1]))
      info.set(Number(entry), { comm, cpu: (Number(fields[11]) + Number(fields[12])) / clockTicks })
    } catch {
      // exited meanwhile
    }
  }
  const byName = new Map<string, number>()
  const add = (name: string, cpu: number) => byName.set(name, (byName.get(name) ?? 0) + cpu)
  for (const [pid, { comm, cpu }] of info) {
    if (comm === 'PostgreSQL backends') {
      add(comm, cpu)
      continue
    }
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        add(comm === 'workerd' ? `workerd ${pid}` : comm, cpu)
        break
      }
    }
  }
  return byName
}

/** Runs the clients in a child process; `onLine` sees each of its progress lines as it comes. */
async function clientsInChild(job: ClientJob, onLine: (line: string) => void): Promise<ClientResult> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--clients'], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  child.stdin.end(JSON.stringify(job))
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => (out += c))
  child.stderr.on('data', (c: Buffer) => {
    err += c
    for (let i = err.indexOf('\n'); i >= 0; i = err.indexOf('\n')) {
      const line = err.slice(0, i)
      err = err.slice(i + 1)
      console.error(line)
      onLine(line)
    }
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`the clients' process exited with ${code}: ${err}`)
  return JSON.parse(out) as ClientResult
}

interface Measured {
  r: ClientResult
  stored: number
  cpu: [string, number][]
  load: { before: number; after: number }
  profile?: Profile
}

/**
 * One measured run on fresh members. CPU is read when the clients start the steady phase and
 * when they finish; with BENCH_PROFILE=1 the Worker's isolate is profiled over the same span.
 */
async function measure(
  stack: ChatStack,
  job: Omit<ClientJob, 'pairs' | 'url'>,
  pairs: number,
): Promise<Measured> {
  const members = await createMembers(stack, pairs * 2)
  const database = new URL(stack.databaseUrl).pathname.slice(1)
  const inspector =
    process.env.BENCH_PROFILE === '1'
      ? (await workerdProcesses(Number(new URL(stack.url).port))).inspector
      : null
  let cpuBefore = processCpu(database)
  let ownBefore = process.cpuUsage()
  let loadBefore = loadavg()[0]!
  let finish = () => {}
  const finished = new Promise<void>((resolve) => (finish = resolve))
  let profiling: Promise<Profile> | undefined
  const r = await clientsInChild(
    {
      ...job,
      url: stack.url,
      pairs: Array.from({ length: pairs }, (_, i) => [members[2 * i]!, members[2 * i + 1]!]),
    },
    (line) => {
      if (!line.includes('measuring')) return
      cpuBefore = processCpu(database)
      ownBefore = process.cpuUsage()
      loadBefore = loadavg()[0]!
      if (inspector) profiling = profile(inspector, () => finished, samplingMicros)
    },
  ).finally(finish)
  const own = process.cpuUsage(ownBefore)
  const cpuAfter = processCpu(database)
  const loadAfter = loadavg()[0]!
  const {
    rows: [count],
  } = await stack.pool.query<{ n: number }>(
    'select count(*)::int as n from messages where sender_id = any($1)',
    [members.map((m) => m.id)],
  )
  // The clients' process has exited by now (its CPU comes with its result): compare only what
  // both readings saw.
  const cpu: [string, number][] = [...cpuAfter]
    .filter(([name]) => cpuBefore.has(name))
    .map(([name, x]) => [name, Math.max(0, x - cpuBefore.get(name)!)])
  cpu.push(['stand-ins (this process)', (own.user + own.system) / 1e6], ['ws clients', r.clientCpuSeconds])
  return {
    r,
    stored: count!.n - pairs * 2,
    cpu,
    load: { before: loadBefore, after: loadAfter },
    // A profiler whose DevTools connection died (the Worker restarted) never answers.
    profile: await Promise.race([
      profiling,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 30_000).unref()),
    ]),
  }
}

const samplingMicros = 250

async function bench() {
  const pairs = option('pairs', 100)
  const messages = option('messages', 30)
  const rate = option('rate', 550)
  const hubs = !process.argv.includes('--no-hubs')
  const deflate = !process.argv.includes('--no-deflate')
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/7'
  const dir = mkdtempSync(join(tmpdir(), 'rapport-bench-chat-'))
  const logPath = join(dir, 'wrangler.log')
  const logFd = openSync(logPath, 'w')
  let stack: ChatStack | undefined
  let keep = false
  const say = (line: string) => console.log(`[bench] ${line}`)
  try {
    const t0 = performance.now()
    stack = await startChatStack({
      redisUrl,
      dataDir: dir,
      wranglerOutput: logFd,
      log: say,
      inspector: process.env.BENCH_INSPECTOR === '1' || process.env.BENCH_PROFILE === '1',
    })
    say(`Rapport up in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    // wrangler runs in a process group of its own: stop it on Ctrl-C / timeout too.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        console.error(`[bench] ${signal}: stopping`)
        void stack!.stop().finally(() => process.exit(1))
      })
    }
    // wrangler dev rebuilds and restarts the Worker whenever a source file it bundles changes,
    // closing every socket: such a run measures nothing, so it is repeated (on fresh members).
    let m: Measured | undefined
    for (let attempt = 1; attempt <= 3; attempt++) {
      m = await measure(stack, { messages, rate, hubs, deflate }, pairs)
      if (m.r.closedByServer === 0) break
      say(
        `${m.r.closedByServer} sockets were closed by the server during the run (codes ${JSON.stringify(m.r.closeCodes)}): ` +
          `most likely wrangler dev reloaded the Worker after a source file changed${attempt < 3 ? '; running again' : ''}`,
      )
    }
    const { r, stored, cpu, load } = m!

    const perSecond = r.delivered / r.steadySeconds
    console.log(
      `\n${pairs} conversations, ${pairs * 2} members, ${messages} messages each, ` +
        `${rate > 0 ? `offered ${rate} messages/s (open loop)` : 'closed loop'}, inbox sockets ${hubs ? 'on' : 'off'}, compression ${deflate ? 'offered' : 'off'}` +
        `${process.env.BENCH_PROFILE === '1' ? ', profiling' : process.env.BENCH_INSPECTOR === '1' ? ', with the inspector' : ''}; ` +
        `${cpus().length} CPUs, load average ${load.before.toFixed(2)} at the start of the steady phase, ` +
        `${load.after.toFixed(2)} at its end`,
    )
    console.log(
      `setup (sockets, intros) ${r.setupSeconds.toFixed(1)} s; steady phase ${r.steadySeconds.toFixed(2)} s`,
    )
    console.log(describe('send → ack', r.samples.ack))
    console.log(describe('send → peer message', r.samples.delivery))
    if (hubs) console.log(describe('send → peer inbox socket', r.samples.hub))
    console.log(`aggregate: ${perSecond.toFixed(0)} messages/s delivered over the steady phase`)
    console.log(
      `sent ${r.sent}, acked ${r.acked}, delivered ${r.delivered}, stored ${stored}, inbox frames ${r.hubDelivered}; ` +
        `lost ${r.lost}, duplicated ${r.duplicated}, out of order ${r.outOfOrder}, unacknowledged ${r.unacked}, ` +
        `refused ${JSON.stringify(r.refused)}, sockets closed by the server ${r.closedByServer}`,
    )
    const total = cpu.reduce((t, [, x]) => t + x, 0)
    console.log(
      `CPU per delivered message (steady phase, ${(total / r.steadySeconds).toFixed(2)} CPUs busy): ` +
        cpu
          .filter(([, x]) => x >= 0.01)
          .sort((a, b) => b[1] - a[1])
          .map(([name, x]) => `${name} ${((x / r.delivered) * 1000).toFixed(2)} ms`)
          .join(', '),
    )
    if (m!.profile) {
      const hot = hotFunctions(m!.profile, 25, await bundleFrameNamer(root))
      const pct = (x: number) => `${((x / hot.busy) * 100).toFixed(1).padStart(5)} %`
      console.log(
        `[profile] Worker isolate: ${((hot.busy * samplingMicros) / 1000 / r.delivered).toFixed(2)} ms per message ` +
          `(${samplingMicros} µs samples); self time:`,
      )
      for (const [fn, n] of hot.self) console.log(`  ${pct(n)}  ${fn}`)
      console.log('[profile] total time (on the stack):')
      for (const [fn, n] of hot.total) console.log(`  ${pct(n)}  ${fn}`)
    }

    const failures: string[] = []
    if (
      r.lost ||
      r.duplicated ||
      r.outOfOrder ||
      r.unacked ||
      Object.keys(r.refused).length ||
      r.closedByServer
    )
      failures.push('lost, duplicated, out-of-order, unacknowledged or refused messages, or closed sockets')
    if (stored !== r.acked) failures.push(`PostgreSQL holds ${stored} messages, ${r.acked} were acked`)
    const sorted = [...r.samples.delivery].sort((a, b) => a - b)
    if (percentile(sorted, 50) > 15) failures.push('p50 send → peer message above 15 ms')
    if (percentile(sorted, 99) > 50) failures.push('p99 send → peer message above 50 ms')
    if (perSecond < 500) failures.push('below 500 messages/s')
    if (failures.length) {
      console.error(`missed: ${failures.join('; ')}`)
      keep = true
      process.exitCode = 1
    }
  } catch (err) {
    console.error('[bench] failed:', err instanceof Error ? err.message : err)
    keep = true
    process.exitCode = 1
  } finally {
    await stack?.stop()
    closeSync(logFd)
    if (keep) console.error(`[bench] wrangler's output is kept in ${logPath}`)
    else rmSync(dir, { recursive: true, force: true })
  }
}

const entry = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href
if (entry && process.argv.includes('--clients')) {
  if (process.env.BENCH_GC === '1') {
    // The clients' own collector pauses delay every frame they receive at that moment: print the
    // long ones, on the wall clock, to line them up with BENCH_TIMELINE's late windows.
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.duration >= 5) {
          const at = new Date(performance.timeOrigin + e.startTime).toISOString()
          console.error(`[clients] gc ${at} ${e.duration.toFixed(1)} ms`)
        }
      }
    }).observe({ entryTypes: ['gc'] })
  }
  let input = ''
  for await (const chunk of process.stdin) input += chunk
  const result = await runClients(JSON.parse(input) as ClientJob, (line) =>
    console.error(`[clients] ${line}`),
  )
  process.stdout.write(JSON.stringify(result))
} else if (entry) {
  await bench()
}
