import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import IORedis from 'ioredis'
import pg from 'pg'
import WebSocket from 'ws'
import { type RunningRapport, startRapport } from '../scripts/dev'
import { freePort } from '../scripts/free-port'
import { parseConfig } from '../src/config'
import { signAccessToken } from '../src/services/accounts/tokens'
import { type Profile, bundleFrameNamer, hotFunctions, profile, workerdProcesses } from './profile'

/**
 * `npm run bench:chat`: chat over `wrangler dev` with real PostgreSQL and Redis, measured from
 * real `ws` clients, against its own ceiling: an echo baseline (bench/echo/: a Worker whose
 * Durable Objects only number and pass messages on, no database, no rules) runs in the same
 * process tree, under the same wrangler and workerd, reached by the same client code.
 *
 * The sweep: after an unmeasured warm-up round on each side, for each offered rate (messages/s, open loop: a send does not wait for the previous
 * ack), first the baseline, then Rapport, each on 100 fresh conversations (200 members,
 * `--pairs`), every member holding a conversation socket and an inbox socket. After each pair's
 * intro and reply (intros have uniqueness and daily limits; what follows are chats), every member
 * sends its share of `--seconds` (6) worth of messages. A side saturated at two rates in a row —
 * delivering under 90 % of the offered rate, or a p50 over 500 ms — is not stepped further; the
 * sweep ends when both are. `--rates 100,300` chooses the rates (a short run); `--rate N` one rate; `--messages N`
 * fixes the messages per member.
 *
 * Measured per message, all on one process clock (the clients run in a child process of their
 * own, so they do not share an event loop with the Neon and Upstash stand-ins, which run in
 * this one): `send` → the sender's `ack`, `send` → the recipient's conversation-socket `message`,
 * `send` → the recipient's inbox-socket `message`. Per step: delivered messages/s over the steady
 * phase (first send to last delivery), p50/p99, CPU per delivered message by process (from
 * /proc/<pid>/stat before and after the steady phase: each side's workerd and wrangler, the
 * stand-ins, the clients, the PostgreSQL backends of the bench's database, the Redis server),
 * and the counts that must be zero — lost (acked, never delivered), duplicated, out of order,
 * refused, unacknowledged — checked against PostgreSQL's row count too. Reported: a per-rate
 * table with Rapport/baseline ratios, both saturation throughputs and the issue's targets (at the
 * highest rate where the baseline's p99 ≤ 20 ms, Rapport's p99 ≤ 50 ms; saturation ≥ 50 % of the
 * baseline's; at Rapport's highest unsaturated rate, PostgreSQL ≤ 0.4 ms CPU per message and
 * workerd within 1.5× the baseline's). Exits non-zero when a count is not zero or a target is
 * missed.
 *
 *   tsx bench/chat.ts [--rates 100,200,…] [--pairs 100] [--seconds 6] [--no-hubs] [--no-deflate]
 *
 * The clients offer permessage-deflate as browsers do, so the server compresses what it sends
 * and the clients inflate it; `--no-deflate` leaves compression out (the clients' inflating
 * costs about 0.3 ms of CPU per message on the shared cores, the server's compressing little).
 * BENCH_GC=1 prints the clients' own collector pauses of 5 ms or more (wall clock), to line up
 * with the timeline. BENCH_TIMELINE=1 also prints delivery latency per half second of the steady
 * phase, to tell a stall (every message of one moment late) from general queueing.
 * BENCH_PROFILE=1 profiles Rapport's Worker isolate in each of its steps.
 *
 * PostgreSQL: a fresh database on TEST_PG_URL's server (default postgres://postgres@127.0.0.1/postgres),
 * dropped afterwards. Redis: BENCH_REDIS_URL (default redis://127.0.0.1:6379/7; that logical
 * database is flushed). The load average is printed with the results: on a shared 2-CPU
 * machine, other work distorts the latencies, which is why every figure is read as a ratio of
 * the baseline's in the same run.
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
  /** What the Neon and Upstash stand-ins have served so far. */
  counters: RunningRapport['counters']
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
  return { url: rapport.url, databaseUrl, pool, fakes: rapport.fakes, counters: rapport.counters, stop }
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
  // What connecting and the intros set going in the background (presence, inbox bookkeeping)
  // settles before the steady phase, so its CPU is not charged to the messages.
  await new Promise((resolve) => setTimeout(resolve, 2_000))
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
  // The bench reads CPU counters on this line: closing 400 sockets is not part of the steady phase.
  progress('steady phase done; closing')
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

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const value = Number(process.argv[i + 1])
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number ≥ 0`)
  return value
}

/**
 * The sweep's offered rates: `--rates 100,300` (or one `--rate`), else {@link defaultRates}, which
 * steps more coarsely as it climbs; the sweep stops early once both sides are saturated.
 */
function offeredRates(): number[] {
  const i = process.argv.indexOf('--rates')
  if (i >= 0) {
    const rates = (process.argv[i + 1] ?? '').split(',').map(Number)
    if (rates.length === 0 || rates.some((r) => !Number.isFinite(r) || r <= 0)) {
      throw new Error('--rates needs comma-separated messages/s, e.g. --rates 100,300')
    }
    return rates
  }
  if (process.argv.includes('--rate')) return [option('rate', 550)]
  return defaultRates
}

const defaultRates = [100, 200, 300, 400, 600, 800, 1000, 1500, 2000, 3000]

/** /proc's clock ticks per second (`getconf CLK_TCK`; 100 on Linux). */
const clockTicks = 100

interface ProcStat {
  comm: string
  ppid: number
  pgrp: number
  cpu: number
}

function procStat(pid: number | string): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const close = stat.lastIndexOf(')')
    const fields = stat.slice(close + 2).split(' ')
    return {
      comm: stat.slice(stat.indexOf('(') + 1, close),
      ppid: Number(fields[1]),
      pgrp: Number(fields[2]),
      cpu: (Number(fields[11]) + Number(fields[12])) / clockTicks,
    }
  } catch {
    return undefined // exited meanwhile
  }
}

/**
 * CPU seconds (user + system, from /proc/<pid>/stat) by process role. This process's descendants
 * are told apart by process group: `wrangler dev` of each side runs in a group of its own
 * (`baselineGroup` is the echo's; any other group below this process is Rapport's), each with a
 * Node process (wrangler) and two workerd processes (the runtime and its proxy), summed as
 * "workerd". Then the PostgreSQL backends serving `database` (matched by their command line) and
 * the Redis server — the whole server, which other work on the machine may share.
 */
function processCpu(database: string, baselineGroup: number): Map<string, number> {
  const own = procStat('self')!.pgrp
  const stats = new Map<number, ProcStat>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = procStat(entry)
    if (stat) stats.set(Number(entry), stat)
  }
  const byName = new Map<string, number>()
  const add = (name: string, cpu: number) => byName.set(name, (byName.get(name) ?? 0) + cpu)
  for (const [pid, stat] of stats) {
    if (stat.comm === 'postgres') {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(` ${database} `)) {
          add('PostgreSQL backends', stat.cpu)
        }
      } catch {
        // exited meanwhile
      }
      continue
    }
    if (stat.comm === 'redis-server') {
      add('Redis (whole server)', stat.cpu)
      continue
    }
    if (stat.pgrp === own) continue // the clients' child reports its own CPU
    for (let p = stat.ppid; p > 1; p = stats.get(p)?.ppid ?? 0) {
      if (p !== process.pid) continue
      const side = stat.pgrp === baselineGroup ? 'baseline' : 'Rapport'
      add(`${side} ${stat.comm === 'workerd' ? 'workerd' : "wrangler's Node"}`, stat.cpu)
      break
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

/** One side of the comparison: where its Worker listens and how its members are made. */
interface Target {
  side: 'baseline' | 'Rapport'
  url: string
  members(n: number): Promise<Member[]>
  /** Messages PostgreSQL holds from these members (Rapport only). */
  stored?(members: Member[]): Promise<number>
  /** DevTools endpoint of the Worker's isolate, to profile (BENCH_PROFILE=1, Rapport only). */
  inspector?: string | null
  /** Running totals of the stand-ins' traffic (Rapport only), read with the CPU counters. */
  traffic?(): Traffic
}

/** What reached the Neon and Upstash stand-ins: HTTP requests and WebSocket tunnels, statements, commands. */
interface Traffic {
  neonRequests: number
  neonStatements: number
  upstashCommands: number
}

interface Step {
  side: Target['side']
  rate: number
  r: ClientResult
  stored: number | null
  /** CPU seconds by process over the steady phase. */
  cpu: Map<string, number>
  /** The stand-ins' traffic over the steady phase (Rapport only). */
  traffic: Traffic | null
  load: { before: number; after: number }
  perSecond: number
  p50: number
  p99: number
  ackP99: number
  saturated: boolean
  profile?: Profile
}

/**
 * A step is saturated when it delivered under this share of the offered rate (the queue grew), or
 * its median latency passed the bound. A side stops after two saturated steps in a row, so one
 * stall of the shared machine does not end its sweep.
 */
const saturationShare = 0.9
const saturationP50Ms = 500

/**
 * One measured step on fresh members: the clients run in a child process; CPU counters are read
 * when they start the steady phase and when it is over (before they close their sockets).
 */
async function measure(
  target: Target,
  job: Omit<ClientJob, 'pairs' | 'url'>,
  pairs: number,
  database: string,
  baselineGroup: number,
): Promise<Step> {
  const members = await target.members(pairs * 2)
  let cpuBefore = processCpu(database, baselineGroup)
  let cpuAfter = cpuBefore
  let trafficBefore = target.traffic?.()
  let trafficAfter = trafficBefore
  let ownBefore = process.cpuUsage()
  let own = process.cpuUsage(ownBefore)
  let loadBefore = loadavg()[0]!
  let loadAfter = loadBefore
  let finish = () => {}
  const finished = new Promise<void>((resolve) => (finish = resolve))
  let profiling: Promise<Profile> | undefined
  const r = await clientsInChild(
    {
      ...job,
      url: target.url,
      pairs: Array.from({ length: pairs }, (_, i) => [members[2 * i]!, members[2 * i + 1]!]),
    },
    (line) => {
      if (line.includes('measuring')) {
        cpuBefore = processCpu(database, baselineGroup)
        trafficBefore = target.traffic?.()
        ownBefore = process.cpuUsage()
        loadBefore = loadavg()[0]!
        if (target.inspector) profiling = profile(target.inspector, () => finished, samplingMicros)
      } else if (line.includes('steady phase done')) {
        cpuAfter = processCpu(database, baselineGroup)
        trafficAfter = target.traffic?.()
        own = process.cpuUsage(ownBefore)
        loadAfter = loadavg()[0]!
        finish()
      }
    },
  ).finally(finish)
  const cpu = new Map<string, number>()
  for (const [name, x] of cpuAfter) {
    if (cpuBefore.has(name)) cpu.set(name, Math.max(0, x - cpuBefore.get(name)!))
  }
  cpu.set('stand-ins (bench process)', (own.user + own.system) / 1e6)
  cpu.set('ws clients', r.clientCpuSeconds)
  const delivery = [...r.samples.delivery].sort((a, b) => a - b)
  const perSecond = r.delivered / r.steadySeconds
  const p99 = percentile(delivery, 99)
  return {
    side: target.side,
    rate: job.rate,
    r,
    stored: target.stored ? (await target.stored(members)) - pairs * 2 : null,
    cpu,
    traffic:
      trafficBefore && trafficAfter
        ? {
            neonRequests: trafficAfter.neonRequests - trafficBefore.neonRequests,
            neonStatements: trafficAfter.neonStatements - trafficBefore.neonStatements,
            upstashCommands: trafficAfter.upstashCommands - trafficBefore.upstashCommands,
          }
        : null,
    load: { before: loadBefore, after: loadAfter },
    perSecond,
    p50: percentile(delivery, 50),
    p99,
    ackP99: percentile(
      [...r.samples.ack].sort((a, b) => a - b),
      99,
    ),
    saturated: perSecond < saturationShare * job.rate || !(percentile(delivery, 50) <= saturationP50Ms),
    // A profiler whose DevTools connection died (the Worker restarted) never answers.
    profile: await Promise.race([
      profiling,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 30_000).unref()),
    ]),
  }
}

const samplingMicros = 250

/** The echo baseline (bench/echo/) under wrangler's programmatic API, in a process group of its own. */
async function startEcho(
  dataDir: string,
  output: number,
): Promise<{ url: string; group: number; stop(): Promise<void> }> {
  const port = await freePort()
  const child = spawn('npx', ['tsx', 'bench/echo/dev.ts', String(port), join(dataDir, 'echo')], {
    cwd: root,
    detached: true,
    stdio: ['ignore', output, output],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  })
  const stop = async () => {
    if (child.exitCode !== null || !child.pid) return
    process.kill(-child.pid, 'SIGTERM')
    await new Promise((r) => setTimeout(r, 300))
    if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL')
  }
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the echo baseline exited with code ${child.exitCode}`)
    // 401 (no bearer token) means the Worker answers.
    if ((await fetch(url).catch(() => null))?.status === 401) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error('the echo baseline did not answer within 60 s')
    }
    await new Promise((r) => setTimeout(r, 150))
  }
  return { url, group: child.pid!, stop }
}

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–')
const ratio = (x: number, y: number) => (Number.isFinite(x / y) ? (x / y).toFixed(2) : '–')
/** CPU milliseconds per delivered message, of one process role. */
const cpuPerMessage = (s: Step, name: string) => ((s.cpu.get(name) ?? 0) / s.r.delivered) * 1000

/**
 * CPU milliseconds per delivered message of every process the step measured (both sides' runtimes,
 * the stand-ins, the clients, PostgreSQL, Redis): how busy the shared cores were, which is what
 * queueing latency follows.
 */
const allCpuPerMessage = (s: Step) => ([...s.cpu.values()].reduce((a, x) => a + x, 0) / s.r.delivered) * 1000

function stepLine(s: Step): string {
  const cpu = [...s.cpu]
    .filter(([, x]) => x >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([name, x]) => `${name} ${((x / s.r.delivered) * 1000).toFixed(2)}`)
    .join(', ')
  return (
    `${s.side.padEnd(8)} offered ${String(s.rate).padStart(4)}/s: delivered ${s.perSecond.toFixed(0).padStart(4)}/s, ` +
    `send → peer p50 ${ms(s.p50)} ms p99 ${ms(s.p99)} ms (ack p99 ${ms(s.ackP99)} ms)` +
    `${s.saturated ? ' SATURATED' : ''}; load ${s.load.before.toFixed(2)}→${s.load.after.toFixed(2)}; ` +
    `CPU ms/message: ${cpu}; ${traffic(s)}setup ${s.r.setupSeconds.toFixed(1)} s, steady ${s.r.steadySeconds.toFixed(1)} s`
  )
}

/** The stand-ins' traffic per delivered message, for the step line (empty for the baseline). */
function traffic(s: Step): string {
  if (!s.traffic) return ''
  const per = (x: number) => (x / s.r.delivered).toFixed(2)
  return (
    `per message: Neon ${per(s.traffic.neonRequests)} requests, ${per(s.traffic.neonStatements)} statements; ` +
    `Upstash ${per(s.traffic.upstashCommands)} commands; `
  )
}

/** Counts that must be zero, as one message (empty when clean). */
function problems(s: Step): string {
  const r = s.r
  const out: string[] = []
  if (r.lost) out.push(`${r.lost} lost`)
  if (r.duplicated) out.push(`${r.duplicated} duplicated`)
  if (r.outOfOrder) out.push(`${r.outOfOrder} out of order`)
  if (r.unacked) out.push(`${r.unacked} unacknowledged`)
  if (Object.keys(r.refused).length) out.push(`refused ${JSON.stringify(r.refused)}`)
  if (r.closedByServer) out.push(`${r.closedByServer} sockets closed by the server`)
  if (s.stored !== null && s.stored !== r.acked) out.push(`PostgreSQL holds ${s.stored}, ${r.acked} acked`)
  return out.join(', ')
}

async function bench() {
  const pairs = option('pairs', 100)
  const seconds = option('seconds', 6)
  const rates = offeredRates()
  const hubs = !process.argv.includes('--no-hubs')
  const deflate = !process.argv.includes('--no-deflate')
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/7'
  const profiling = process.env.BENCH_PROFILE === '1'
  const dir = mkdtempSync(join(tmpdir(), 'rapport-bench-chat-'))
  const logPath = join(dir, 'wrangler.log')
  const logFd = openSync(logPath, 'w')
  let stack: ChatStack | undefined
  let echo: Awaited<ReturnType<typeof startEcho>> | undefined
  let keep = false
  const say = (line: string) => console.log(`[bench] ${line}`)
  const stopAll = () => Promise.all([stack?.stop(), echo?.stop()])
  try {
    const t0 = performance.now()
    ;[stack, echo] = await Promise.all([
      startChatStack({
        redisUrl,
        dataDir: dir,
        wranglerOutput: logFd,
        log: say,
        inspector: process.env.BENCH_INSPECTOR === '1' || profiling,
      }),
      startEcho(dir, logFd),
    ])
    say(`Rapport and the echo baseline up in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    // wrangler runs in process groups of its own: stop them on Ctrl-C / timeout too.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        console.error(`[bench] ${signal}: stopping`)
        void stopAll().finally(() => process.exit(1))
      })
    }
    const database = new URL(stack.databaseUrl).pathname.slice(1)
    const rapportStack = stack
    const targets: Target[] = [
      {
        side: 'baseline',
        url: echo.url,
        // The echo takes the bearer token as the member id.
        members: async (n) =>
          Array.from({ length: n }, () => {
            const id = randomUUID()
            return { id, token: id }
          }),
      },
      {
        side: 'Rapport',
        url: stack.url,
        members: (n) => createMembers(rapportStack, n),
        stored: async (members) => {
          const {
            rows: [count],
          } = await rapportStack.pool.query<{ n: number }>(
            'select count(*)::int as n from messages where sender_id = any($1)',
            [members.map((m) => m.id)],
          )
          return count!.n
        },
        inspector: profiling ? (await workerdProcesses(Number(new URL(stack.url).port))).inspector : null,
        traffic: () => {
          const { neon, upstash } = rapportStack.counters()
          return {
            neonRequests: neon.requests,
            neonStatements: neon.statements,
            upstashCommands: upstash.commands,
          }
        },
      },
    ]
    console.log(
      `\n${pairs} conversations, ${pairs * 2} members, each side on fresh members per step, ~${seconds} s of ` +
        `open-loop sending per step, inbox sockets ${hubs ? 'on' : 'off'}, compression ${deflate ? 'offered' : 'off'}` +
        `${profiling ? ', profiling Rapport' : ''}; ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)}; ` +
        `offered rates ${rates.join(', ')} (stopping once both sides are saturated)`,
    )
    // An unmeasured round first: the first step of a fresh stack pays for cold starts (the
    // stand-ins' PostgreSQL connections and their plan caches, the isolate's JIT) that later
    // steps do not.
    for (const target of targets) {
      const warm = await measure(
        target,
        { messages: 3, rate: 100, hubs, deflate },
        pairs,
        database,
        echo.group,
      )
      say(
        `${target.side} warm-up: ${warm.r.delivered} delivered${problems(warm) ? `; ${problems(warm)}` : ''}`,
      )
    }
    const steps: Step[] = []
    const saturated = new Set<Target['side']>()
    for (const rate of rates) {
      if (saturated.size === targets.length) break
      const messages = option('messages', Math.max(5, Math.round((rate * seconds) / (pairs * 2))))
      for (const target of targets) {
        if (saturated.has(target.side)) continue
        // wrangler dev restarts a Worker whenever a source file it bundles changes, closing every
        // socket: such a step measures nothing, so it is repeated (on fresh members).
        let step: Step | undefined
        for (let attempt = 1; attempt <= 3; attempt++) {
          step = await measure(target, { messages, rate, hubs, deflate }, pairs, database, echo.group)
          if (step.r.closedByServer === 0) break
          say(`${target.side}: ${step.r.closedByServer} sockets closed by the server; Worker reloaded?`)
        }
        steps.push(step!)
        say(stepLine(step!))
        const wrong = problems(step!)
        if (wrong) say(`${target.side} at ${rate}/s: ${wrong}`)
        const previous = steps.filter((s) => s.side === target.side).at(-2)
        if (step!.saturated && previous?.saturated) saturated.add(target.side)
        if (step!.profile) {
          const hot = hotFunctions(step!.profile, 25, await bundleFrameNamer(root))
          const pct = (x: number) => `${((x / hot.busy) * 100).toFixed(1).padStart(5)} %`
          console.log(
            `[profile] Worker isolate: ${((hot.busy * samplingMicros) / 1000 / step!.r.delivered).toFixed(2)} ms per message ` +
              `(${samplingMicros} µs samples); self time:`,
          )
          for (const [fn, n] of hot.self) console.log(`  ${pct(n)}  ${fn}`)
          console.log('[profile] total time (on the stack):')
          for (const [fn, n] of hot.total) console.log(`  ${pct(n)}  ${fn}`)
        }
      }
    }
    report(steps)
    const failures = steps.filter((s) => problems(s)).map((s) => `${s.side} at ${s.rate}/s: ${problems(s)}`)
    failures.push(...missedTargets(steps))
    if (failures.length) {
      console.error(`missed:\n  ${failures.join('\n  ')}`)
      keep = true
      process.exitCode = 1
    }
  } catch (err) {
    console.error('[bench] failed:', err instanceof Error ? err.message : err)
    keep = true
    process.exitCode = 1
  } finally {
    await stopAll()
    closeSync(logFd)
    if (keep) console.error(`[bench] wrangler's output is kept in ${logPath}`)
    else rmSync(dir, { recursive: true, force: true })
  }
}

/** The per-rate table (Markdown, to paste into docs/BENCHMARKS.md) and the saturation figures. */
function report(steps: Step[]) {
  const at = (side: Step['side'], rate: number) => steps.find((s) => s.side === side && s.rate === rate)
  const rates = [...new Set(steps.map((s) => s.rate))]
  console.log(
    '\n| offered /s | baseline delivered /s | baseline p50 / p99 ms | Rapport delivered /s | Rapport p50 / p99 ms | ' +
      'delivered R/B | p50 R/B | p99 R/B | workerd ms/msg B → R | PostgreSQL ms/msg | all processes ms/msg B → R |',
  )
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const rate of rates) {
    const b = at('baseline', rate)
    const r = at('Rapport', rate)
    const side = (s: Step | undefined) =>
      s
        ? [`${s.perSecond.toFixed(0)}${s.saturated ? ' (sat.)' : ''}`, `${ms(s.p50)} / ${ms(s.p99)}`]
        : ['–', '–']
    console.log(
      `| ${rate} | ${side(b).join(' | ')} | ${side(r).join(' | ')} | ` +
        `${b && r ? [ratio(r.perSecond, b.perSecond), ratio(r.p50, b.p50), ratio(r.p99, b.p99)].join(' | ') : '– | – | –'} | ` +
        `${b ? cpuPerMessage(b, 'baseline workerd').toFixed(2) : '–'} → ${r ? cpuPerMessage(r, 'Rapport workerd').toFixed(2) : '–'} | ` +
        `${r ? cpuPerMessage(r, 'PostgreSQL backends').toFixed(2) : '–'} | ` +
        `${b ? allCpuPerMessage(b).toFixed(2) : '–'} → ${r ? allCpuPerMessage(r).toFixed(2) : '–'} |`,
    )
  }
  const best = (side: Step['side']) =>
    Math.max(0, ...steps.filter((s) => s.side === side).map((s) => s.perSecond))
  const [b, r] = [best('baseline'), best('Rapport')]
  console.log(
    `\nsaturation throughput (best delivered /s of the sweep): baseline ${b.toFixed(0)}, Rapport ${r.toFixed(0)}, ` +
      `ratio ${ratio(r, b)}${steps.some((s) => s.side === 'baseline' && s.saturated) ? '' : ' (the baseline never saturated: a lower bound)'}`,
  )
}

/** The issue's targets, each checked on this run's own baseline. */
function missedTargets(steps: Step[]): string[] {
  const missed: string[] = []
  const at = (side: Step['side'], rate: number) => steps.find((s) => s.side === side && s.rate === rate)
  const calm = steps.filter((s) => s.side === 'baseline' && s.p99 <= 20).sort((x, y) => y.rate - x.rate)[0]
  if (calm) {
    const r = at('Rapport', calm.rate)
    const verdict = r && r.p99 <= 50 ? 'met' : 'MISSED'
    console.log(
      `target p99 ≤ 50 ms where the baseline's p99 ≤ 20 ms (${calm.rate}/s, baseline ${ms(calm.p99)} ms): ` +
        `Rapport ${r ? `${ms(r.p99)} ms` : 'saturated below that rate'} — ${verdict}`,
    )
    if (verdict !== 'met') missed.push(`Rapport p99 above 50 ms at ${calm.rate}/s`)
  }
  const best = (side: Step['side']) =>
    Math.max(0, ...steps.filter((s) => s.side === side).map((s) => s.perSecond))
  const share = best('Rapport') / best('baseline')
  console.log(
    `target saturation ≥ 0.5 of the baseline's: ${share.toFixed(2)} — ${share >= 0.5 ? 'met' : 'MISSED'}`,
  )
  if (!(share >= 0.5)) missed.push(`saturation throughput ${share.toFixed(2)} of the baseline's`)
  // CPU per message where Rapport still keeps up: its highest unsaturated step, against the
  // baseline at the same rate.
  const r = steps.filter((s) => s.side === 'Rapport' && !s.saturated).sort((x, y) => y.rate - x.rate)[0]
  const b = r && at('baseline', r.rate)
  if (r && b) {
    const pg = cpuPerMessage(r, 'PostgreSQL backends')
    const workerd = cpuPerMessage(r, 'Rapport workerd') / cpuPerMessage(b, 'baseline workerd')
    console.log(
      `at ${r.rate}/s: PostgreSQL ${pg.toFixed(2)} ms CPU per message (target ≤ 0.4) — ${pg <= 0.4 ? 'met' : 'MISSED'}; ` +
        `workerd ${workerd.toFixed(2)}× the baseline's (target ≤ 1.5) — ${workerd <= 1.5 ? 'met' : 'MISSED'}`,
    )
    if (pg > 0.4) missed.push(`PostgreSQL ${pg.toFixed(2)} ms CPU per message`)
    if (!(workerd <= 1.5)) missed.push(`workerd CPU ${workerd.toFixed(2)}× the baseline's`)
  }
  return missed
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
