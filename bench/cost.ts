import { randomBytes, randomUUID } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import IORedis from 'ioredis'
import jpegJs from 'jpeg-js'
import pg from 'pg'
import { type RunningRapport, startRapport } from '../scripts/dev'
import { freePort } from '../scripts/free-port'
import { type SmtpSink, startSmtpSink } from '../scripts/local-stack/smtp-sink'
import { type ChatSocket, type ChatStack, type Frame, createMembers, openConversation, openHub } from './chat'
import {
  type Ceiling,
  type LineItem,
  type MemberDay,
  type Prices,
  costPer1000Dau,
  freeTierCeilings,
  lineItems,
  monthlyBill,
} from './cost/model'
import { encodeBlurhash } from '../src/lib/codecs/blurhash'
import { jpegDcPixels, withoutJpegMetadata } from '../src/lib/codecs/jpeg-dc'
import { databaseMeter, mailCount, r2Store, readJson, signInCode, workerdCpuMs } from './cost/meters'

/**
 * `npm run bench:cost`: what one member-day costs to run, and how many daily active members fit
 * in each provider's free allowance.
 *
 * A scripted member-day, driven through the public API of Rapport on `wrangler dev` (real
 * PostgreSQL behind the Neon stand-in, real Redis behind the Upstash stand-in, a local SMTP sink),
 * by `--members` members (default 6, in pairs) at once, among `--others` onboarded members
 * (default 60) to find and view:
 *
 * - sign-in by emailed code (one email), `GET /me`, onboarding once (a place look-up, one PATCH,
 *   finish), an Expo push token for the session;
 * - 2 photo uploads (distinct 1600 × 1200 JPEGs);
 * - 5 searches, each rebuilt (`POST /search`) and paged twice (`GET /search?page=2,3`);
 * - 30 profile views, every photo URL seen fetched once (a client's image cache);
 * - 40 messages sent and 40 received: the first one each way by `POST .../messages` while the
 *   peer is away (its inbox socket only: a push is queued), the other 39 over conversation
 *   sockets with both members there; a `read` frame every 10 received; `GET /inbox` twice;
 * - the crons' share: every cron expression fired once on wrangler's `/__scheduled`, its cost
 *   multiplied by its runs per day and divided by 1,000 members.
 *
 * Counted per member-day (and how):
 * - Worker requests: the requests the driver sends (socket upgrades and media included), plus
 *   push-queue batches (one per queued message, the worst case) and the crons' runs.
 * - Worker CPU ms: CPU time of the workerd processes (/proc utime + stime) over the member phase,
 *   divided by the members: an upper bound, since it also holds the Durable Objects, the local R2
 *   and queue simulators and wrangler's local proxy.
 * - Durable Objects: socket upgrades, REST sends, mark-read and Conversation → UserHub deliveries
 *   (one RPC per delivered message) and UserHub → visitor deliveries (one per first view of a
 *   profile) by code path; incoming socket frames counted by the driver (billed 20:1); presence
 *   alarms (one per 4 minutes online, `--online-minutes`, default 30) with a `hasSockets` RPC each.
 *   Active duration: both objects use the WebSocket Hibernation API (`ctx.acceptWebSocket`,
 *   runtime-answered pings), so they are billed only while a handler runs: send → ack for each
 *   socket message (Conversation), ack → inbox frame (UserHub), each upgrade's wall time, and
 *   each alarm at the median send → ack. wrangler dev has no billing meter and does not evict
 *   objects, so this is derived, not read.
 * - Upstash commands and Neon statements/rows: the stand-ins' own counters.
 * - Neon compute: `pg_stat_database.active_time` of the bench's database (statement wall time,
 *   as CU-seconds at one CU); storage: `pg_database_size` growth.
 * - R2: class A = new objects in wrangler's local R2 store, stored bytes = their sizes; class B =
 *   media GETs the driver made.
 * - Images: binding outputs per upload, read off what was stored (see transformationsOf).
 * - Emails: the SMTP sink's count. Queue messages: messages received while away.
 *
 * Prices: docs/prices-2026-12.json (static; read from the providers' published pages).
 *
 *   npm run bench:cost [-- --members 6 --others 60 --online-minutes 30]
 *
 * PostgreSQL: a fresh database on TEST_PG_URL's server, dropped afterwards. Redis: BENCH_REDIS_URL
 * (default redis://127.0.0.1:6379/4; that logical database is flushed).
 */

const root = fileURLToPath(new URL('..', import.meta.url))

/** How often a UserHub refreshes an online member's presence (its alarm; src/services/chat/presence.ts). */
const presenceRefreshMs = 4 * 60_000

/** The cron expressions of wrangler.toml's local `[triggers]` (the first `crons = [...]`). */
function cronExpressions(): string[] {
  const match = /^crons\s*=\s*\[(.*)\]/m.exec(readFileSync(join(root, 'wrangler.toml'), 'utf8'))
  if (!match) throw new Error('wrangler.toml has no crons')
  return [...match[1]!.matchAll(/"([^"]+)"/g)].map((m) => m[1]!)
}
const say = (line: string) => console.log(`[bench] ${line}`)

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const value = Number(process.argv[i + 1])
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number ≥ 0`)
  return value
}

/** A photo-like JPEG (gradients and noise, quality 85), different for every seed. */
function photo(seed: number, width = 1600, height = 1200): Uint8Array<ArrayBuffer> {
  const data = new Uint8Array(width * height * 4)
  let s = seed * 7919 + 1
  const noise = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) % 17) - 8
  const tilt = (seed % 7) * 20
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4
      data[o] = Math.max(0, Math.min(255, (x / width) * 200 + 30 + tilt / 4 + noise()))
      data[o + 1] = Math.max(0, Math.min(255, (y / height) * 180 + 40 + noise()))
      data[o + 2] = Math.max(0, Math.min(255, 128 + 90 * Math.sin((x + y + tilt) / 300) + noise()))
      data[o + 3] = 255
    }
  }
  return new Uint8Array(jpegJs.encode({ width, height, data }, 85).data)
}

/** Every /media/images/… URL in a JSON value. */
function mediaUrls(value: unknown, into: Set<string>): Set<string> {
  if (typeof value === 'string') {
    if (value.includes('/media/images/')) into.add(value)
  } else if (Array.isArray(value)) for (const v of value) mediaUrls(v, into)
  else if (value && typeof value === 'object') for (const v of Object.values(value)) mediaUrls(v, into)
  return into
}

/** What the driver itself counted during the member phase, over all members. */
interface DriverCounts {
  requests: number
  mediaGets: number
  upgrades: number
  upgradeSeconds: number
  restSends: number
  markReads: number
  socketFramesIn: number
  conversationSeconds: number
  hubSeconds: number
  ackMs: number[]
  hubDeliveries: number
  firstViews: number
  awayMessages: number
  uploads: number
  transformations: number
}

const newCounts = (): DriverCounts => ({
  requests: 0,
  mediaGets: 0,
  upgrades: 0,
  upgradeSeconds: 0,
  restSends: 0,
  markReads: 0,
  socketFramesIn: 0,
  conversationSeconds: 0,
  hubSeconds: 0,
  ackMs: [],
  hubDeliveries: 0,
  firstViews: 0,
  awayMessages: 0,
  uploads: 0,
  transformations: 0,
})

interface Client {
  email: string
  token: string
  id: string
  sessionId: string
}

/** A JSON call through the public API, counted; throws on a status it did not expect. */
async function call(
  counts: DriverCounts,
  url: string,
  init: RequestInit & { token?: string; json?: unknown; expect?: number[]; ip?: string } = {},
): Promise<unknown> {
  const headers = new Headers(init.headers)
  // Each member arrives from an address of its own, as Cloudflare names it (per-IP limits apply).
  if (init.ip) headers.set('cf-connecting-ip', init.ip)
  if (init.token) headers.set('authorization', `Bearer ${init.token}`)
  let body = init.body
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json')
    body = JSON.stringify(init.json)
  }
  counts.requests++
  const res = await fetch(url, { ...init, headers, body }).catch((err: Error) => {
    throw new Error(`${init.method ?? 'GET'} ${url}: ${err.message} (${String(err.cause)})`)
  })
  const text = await res.text()
  if (!(init.expect ?? [200, 201]).includes(res.status)) {
    throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text.slice(0, 300)}`)
  }
  return text ? (JSON.parse(text) as unknown) : null
}

function claims(token: string): { sub: string; sid: string } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string; sid: string }
}

/** Sign-in by emailed code, the app's first call, onboarding once, a push token. */
async function arrive(
  url: string,
  sink: SmtpSink,
  counts: DriverCounts,
  n: number,
  place: string,
): Promise<Client> {
  const email = `cost-${n}-${randomBytes(3).toString('hex')}@rapport.test`
  const ip = `2001:db8:${n.toString(16)}:${randomBytes(2).toString('hex')}::1`
  const { challengeId } = (await call(counts, `${url}/api/v1/auth/otp`, {
    method: 'POST',
    json: { email },
    ip,
  })) as { challengeId: string }
  const code = await signInCode(sink.apiUrl, email)
  const { accessToken } = (await call(counts, `${url}/api/v1/auth/otp/verify`, {
    method: 'POST',
    json: { challengeId, code, client: 'mobile' },
    ip,
  })) as { accessToken: string }
  const { sub, sid } = claims(accessToken)
  await call(counts, `${url}/api/v1/me`, { token: accessToken })
  const places = (await call(counts, `${url}/api/v1/places?q=${encodeURIComponent(place.slice(0, 4))}`, {
    token: accessToken,
  })) as { data?: { label: string }[] } | { label: string }[]
  const list = Array.isArray(places) ? places : (places.data ?? [])
  const label = list[0]?.label
  if (!label) throw new Error(`no place found for "${place.slice(0, 4)}"`)
  await call(counts, `${url}/api/v1/onboarding`, {
    method: 'PATCH',
    token: accessToken,
    json: {
      name: `Cost ${n}`,
      dateOfBirth: '1994-05-17',
      location: label,
      gender: n % 2 === 0 ? 'woman' : 'man',
      seekingGenders: ['man', 'woman'],
    },
  })
  await call(counts, `${url}/api/v1/onboarding/finish`, { method: 'POST', token: accessToken })
  await call(counts, `${url}/api/v1/me/sessions/${sid}/push-token`, {
    method: 'PUT',
    token: accessToken,
    json: { token: `ExponentPushToken[cost${randomBytes(8).toString('hex')}]` },
  })
  return { email, token: accessToken, id: sub, sessionId: sid }
}

/**
 * Images binding outputs of one upload, read off what was stored: the 900 and 450 squares always;
 * the original unless it is the upload minus its metadata (an upright JPEG kept as uploaded);
 * the blurhash's 32 px render unless the blurhash is the one of the 450 square's block averages.
 */
async function transformationsOf(
  upload: Uint8Array,
  photo: { blurhash: string; urls: Record<string, string> },
) {
  const bytes = async (u: string) => {
    const res = await fetch(u).catch((err: Error) => {
      throw new Error(`GET ${u}: ${err.message} (${String(err.cause)})`)
    })
    return new Uint8Array(await res.arrayBuffer())
  }
  const [original, square] = await Promise.all([bytes(photo.urls.original!), bytes(photo.urls['450']!)])
  const kept = withoutJpegMetadata(upload)
  const originalRendered = !kept || Buffer.compare(Buffer.from(kept), Buffer.from(original)) !== 0
  const dc = jpegDcPixels(square)
  const fromBlocks = dc && encodeBlurhash(dc.data, dc.width, dc.height, 4, 4)
  return 2 + (originalRendered ? 1 : 0) + (fromBlocks === photo.blurhash ? 0 : 1)
}

async function uploadPhotos(url: string, counts: DriverCounts, me: Client, seed: number): Promise<void> {
  for (const position of [1, 2]) {
    const body = photo(seed * 2 + position)
    const stored = (await call(counts, `${url}/api/v1/me/photos/${position}`, {
      method: 'PUT',
      token: me.token,
      headers: { 'content-type': 'image/jpeg' },
      body,
    })) as { blurhash: string; urls: Record<string, string> }
    const rendered = await transformationsOf(body, stored)
    counts.uploads++
    counts.transformations += rendered
  }
}

/** 5 searches with two more pages each, then 30 profile views; every photo URL fetched once. */
async function browse(url: string, counts: DriverCounts, me: Client): Promise<void> {
  const seen = new Set<string>()
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    const pages = [
      await call(counts, `${url}/api/v1/search?items_per_page=10`, { method: 'POST', token: me.token }),
      await call(counts, `${url}/api/v1/search?page=2&items_per_page=10`, { token: me.token }),
      await call(counts, `${url}/api/v1/search?page=3&items_per_page=10`, { token: me.token }),
    ] as { data: { id: string }[] }[]
    for (const page of pages) {
      mediaUrls(page, seen)
      for (const row of page.data) if (!ids.includes(row.id)) ids.push(row.id)
    }
  }
  if (ids.length === 0) throw new Error('searches found nobody')
  const viewed = new Set<string>()
  for (let i = 0; i < 30; i++) {
    const id = ids[i % ids.length]!
    mediaUrls(await call(counts, `${url}/api/v1/profiles/${id}`, { token: me.token }), seen)
    if (!viewed.has(id)) counts.firstViews++
    viewed.add(id)
  }
  for (const media of seen) {
    counts.requests++
    counts.mediaGets++
    const res = await fetch(media)
    await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`GET ${media}: ${res.status}`)
  }
}

async function timedOpen(counts: DriverCounts, open: () => Promise<ChatSocket>): Promise<ChatSocket> {
  const start = performance.now()
  const socket = await open()
  counts.requests++
  counts.upgrades++
  counts.upgradeSeconds += (performance.now() - start) / 1000
  return socket
}

/** One pair's 40 + 40 messages: one each way while the other is away, then 39 each over sockets. */
async function chat(url: string, counts: DriverCounts, a: Client, b: Client): Promise<void> {
  const asMember = (c: Client) => ({ id: c.id, token: c.token })
  const hubs = new Map<string, ChatSocket>()
  for (const c of [a, b]) hubs.set(c.id, await timedOpen(counts, () => openHub(url, asMember(c))))
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    await call(counts, `${url}/api/v1/conversations/${to.id}/messages`, {
      method: 'POST',
      token: from.token,
      json: { clientId: randomUUID(), body: `Hello from ${from.id.slice(0, 8)}` },
    })
    counts.restSends++
    counts.awayMessages++
    await hubs.get(to.id)!.next((f) => f.type === 'message', 15_000)
    counts.hubDeliveries++
  }
  await call(counts, `${url}/api/v1/inbox`, { token: a.token })
  await call(counts, `${url}/api/v1/inbox`, { token: b.token })
  const conv = new Map<string, ChatSocket>()
  conv.set(a.id, await timedOpen(counts, () => openConversation(url, asMember(a), b.id)))
  conv.set(b.id, await timedOpen(counts, () => openConversation(url, asMember(b), a.id)))
  const received = new Map<string, number>([
    [a.id, 1],
    [b.id, 1],
  ])
  for (let i = 0; i < 39; i++) {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const clientId = randomUUID()
      const sentAt = performance.now()
      conv.get(from.id)!.send({ type: 'send', clientId, body: `Message ${i} from ${from.id.slice(0, 8)}` })
      counts.socketFramesIn++
      const ack = await conv.get(from.id)!.next((f: Frame) => f.clientId === clientId, 15_000)
      if (ack.type !== 'ack') throw new Error(`message refused: ${JSON.stringify(ack)}`)
      const ackAt = performance.now()
      counts.ackMs.push(ackAt - sentAt)
      counts.conversationSeconds += (ackAt - sentAt) / 1000
      await conv
        .get(to.id)!
        .next(
          (f) => f.type === 'message' && (f.message as { clientId: string }).clientId === clientId,
          15_000,
        )
      const inbox = await hubs
        .get(to.id)!
        .next((f) => f.type === 'message', 15_000)
        .catch(() => null)
      if (inbox) {
        counts.hubDeliveries++
        counts.hubSeconds += Math.max(0, performance.now() - ackAt) / 1000
      }
      const n = received.get(to.id)! + 1
      received.set(to.id, n)
      if (n % 10 === 0) {
        conv.get(to.id)!.send({ type: 'read' })
        counts.socketFramesIn++
      }
    }
  }
  for (const c of [a, b]) {
    await call(counts, `${url}/api/v1/conversations/${c === a ? b.id : a.id}/read`, {
      method: 'POST',
      token: c.token,
      expect: [200, 204],
    })
    counts.markReads++
  }
  await Promise.all([...conv.values(), ...hubs.values()].map((s) => s.close()))
}

/** Runs per day of a cron expression (the five forms wrangler.toml uses). */
export function runsPerDay(cron: string): number {
  const [minute, hour] = cron.split(' ') as [string, string]
  const perHour = minute === '*' ? 60 : minute.startsWith('*/') ? 60 / Number(minute.slice(2)) : 1
  const hours = hour === '*' ? 24 : hour.startsWith('*/') ? 24 / Number(hour.slice(2)) : 1
  return perHour * hours
}

interface Snapshot {
  cpuMs: number
  neon: { statements: number; rows: number; requests: number }
  upstash: { commands: number; requests: number }
  db: { activeMs: number; bytes: number }
  r2: { objects: number; bytes: number }
  mail: number
}

async function snapshot(
  rapport: RunningRapport,
  pool: pg.Pool,
  database: string,
  persist: string,
  sink: SmtpSink,
): Promise<Snapshot> {
  const db = await databaseMeter(pool, database)
  const { neon, upstash } = rapport.counters()
  return {
    cpuMs: workerdCpuMs(),
    neon,
    upstash,
    db,
    r2: r2Store(persist),
    mail: await mailCount(sink.apiUrl),
  }
}

function delta(a: Snapshot, b: Snapshot) {
  return {
    cpuMs: b.cpuMs - a.cpuMs,
    statements: b.neon.statements - a.neon.statements,
    rows: b.neon.rows - a.neon.rows,
    commands: b.upstash.commands - a.upstash.commands,
    activeMs: b.db.activeMs - a.db.activeMs,
    dbBytes: b.db.bytes - a.db.bytes,
    r2Objects: b.r2.objects - a.r2.objects,
    r2Bytes: b.r2.bytes - a.r2.bytes,
    mail: b.mail - a.mail,
  }
}

const fmt = (x: number, digits = 1) =>
  x >= 1000 ? Math.round(x).toLocaleString('en-US') : x.toFixed(Math.abs(x) >= 100 ? 0 : digits)
const dollars = (x: number) => `$${x < 10 ? x.toFixed(2) : x.toFixed(0)}`

/** The report: counts per member-day, dollars per 1,000 members a month, free-tier ceilings. */
export function report(day: MemberDay, prices: Prices): string {
  const lines: string[] = []
  const rows: [string, number][] = [
    ['Worker requests', day.workerRequests],
    ['Worker CPU ms (upper bound)', day.workerCpuMs],
    ['Durable Object requests (calls)', day.doRequests],
    ['Durable Object socket messages in (billed 20:1)', day.doWebSocketMessagesIn],
    ['Durable Object active seconds', day.doActiveSeconds],
    ['Upstash commands', day.upstashCommands],
    ['Neon statements', day.neonStatements],
    ['Neon rows returned', day.neonRows],
    ['Neon busy seconds (CU-s at 1 CU)', day.neonCpuSeconds],
    ['Neon bytes stored', day.neonStoredBytes],
    ['R2 class A', day.r2ClassA],
    ['R2 class B', day.r2ClassB],
    ['R2 bytes stored', day.r2StoredBytes],
    ['Images transformations', day.imageTransformations],
    ['Emails', day.emails],
    ['Queue messages', day.queueMessages],
  ]
  lines.push('| Per member-day | Count |', '| --- | ---: |')
  for (const [name, x] of rows) lines.push(`| ${name} | ${fmt(x, 2)} |`)
  const items: LineItem[] = lineItems(day, prices).sort((x, y) => y.dollars - x.dollars)
  lines.push(
    '',
    '| Line item (1,000 DAU, 30 days, list price, no allowance) | Quantity | $/month |',
    '| --- | ---: | ---: |',
  )
  for (const item of items) {
    lines.push(
      `| ${item.provider} ${item.item} | ${fmt(item.quantity)} ${item.unit} | ${dollars(item.dollars)} |`,
    )
  }
  const cost = costPer1000Dau(day, prices)
  const bill = monthlyBill(day, 1000, prices)
  const ceilings: Ceiling[] = freeTierCeilings(day, prices)
  lines.push(
    '',
    '| Provider | $/1,000 DAU/month (usage) | Bill at 1,000 DAU (allowances, minimums) | Free tier holds (DAU) | Runs out first |',
    '| --- | ---: | ---: | ---: | --- |',
  )
  for (const c of ceilings) {
    lines.push(
      `| ${c.provider} | ${dollars(cost.byProvider[c.provider])} | ${dollars(bill[c.provider])} | ${
        Number.isFinite(c.dau) ? c.dau.toLocaleString('en-US') : 'unlimited'
      } | ${c.limitedBy} |`,
    )
  }
  lines.push(`| **total** | **${dollars(cost.total)}** | **${dollars(bill.total)}** | | |`)
  return lines.join('\n')
}

async function bench() {
  const members = Math.max(2, Math.floor(option('members', 6) / 2) * 2)
  const others = option('others', 60)
  const onlineMinutes = option('online-minutes', 30)
  const dau = 1000
  const prices = readJson<Prices>(join(root, 'docs/prices-2026-12.json'))
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/4'
  const adminUrl = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const database = `rapport_cost_${process.pid}_${randomBytes(3).toString('hex')}`
  const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${database}` }).toString()
  const dir = mkdtempSync(join(tmpdir(), 'rapport-bench-cost-'))
  const logPath = join(dir, 'wrangler.log')
  const logFd = openSync(logPath, 'w')
  const redis = new IORedis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  const admin = new pg.Client({ connectionString: adminUrl })
  let sink: SmtpSink | undefined
  let rapport: RunningRapport | undefined
  let pool: pg.Pool | undefined
  let keep = false
  try {
    await redis.connect()
    await redis.flushdb()
    await admin.connect()
    await admin.query(`create database ${database}`)
    sink = await startSmtpSink()
    const t0 = performance.now()
    rapport = await startRapport({
      port: await freePort(),
      dataDir: dir,
      databaseUrl,
      redisUrl,
      vars: {
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
        DEFAULT_RATE_LIMIT_LIMIT: '1000000',
        SMTP_HOST: '127.0.0.1',
        SMTP_PORT: String(sink.smtpPort),
        SMTP_USER: sink.user,
        SMTP_PASS: sink.pass,
        SMTP_SECURE: 'none',
        SMTP_FROM: 'Rapport <no-reply@rapport.test>',
      },
      wranglerOutput: logFd,
      // wrangler's programmatic API without the DevTools inspector (which production does not
      // pay for), with its /__scheduled route for firing the crons.
      withoutInspector: true,
      log: () => {},
    })
    const url = rapport.url
    pool = new pg.Pool({ connectionString: databaseUrl, max: 2 })
    say(`Rapport up in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    // Members to find: onboarded straight into the database (not part of anyone's day).
    await createMembers(
      { url, databaseUrl, pool, fakes: rapport.fakes, stop: async () => {} } as ChatStack,
      others,
    )
    const {
      rows: [place],
    } = await pool.query<{ name: string }>(
      'select name from places order by population desc nulls last limit 1',
    )
    const persist = join(dir, 'wrangler')

    // Warm-up (compiles code paths, opens connections), outside the measurement.
    const warm = newCounts()
    await call(warm, `${url}/health`)
    await call(warm, `${url}/api/v1/places?q=${encodeURIComponent(place!.name.slice(0, 4))}`)

    const before = await snapshot(rapport, pool, database, persist, sink)
    const counts = newCounts()
    const start = performance.now()
    const clients = await Promise.all(
      Array.from({ length: members }, (_, i) => arrive(url, sink!, counts, i, place!.name)),
    )
    // One upload at a time: the local Images binding (sharp in wrangler's Node process) is
    // not what is measured, and several 1600 × 1200 renders at once can stall it.
    for (const [i, c] of clients.entries()) await uploadPhotos(url, counts, c, i)
    await Promise.all(clients.map((c) => browse(url, counts, c)))
    const pairs = Array.from(
      { length: members / 2 },
      (_, i) => [clients[2 * i]!, clients[2 * i + 1]!] as const,
    )
    await Promise.all(pairs.map(([a, b]) => chat(url, counts, a, b)))
    // Let the push queue's consumer and the objects' background calls finish.
    await new Promise((resolve) => setTimeout(resolve, 4_000))
    const after = await snapshot(rapport, pool, database, persist, sink)
    const day = delta(before, after)
    say(`member phase: ${((performance.now() - start) / 1000).toFixed(1)} s for ${members} members`)

    // The crons: each expression once, its cost times its runs per day, shared by 1,000 members.
    let cronRunsPerDay = 0
    const cronPart = { cpuMs: 0, statements: 0, rows: 0, commands: 0, activeMs: 0, mail: 0 }
    for (const cron of cronExpressions()) {
      const a = await snapshot(rapport, pool, database, persist, sink)
      const res = await fetch(`${url}/__scheduled?cron=${encodeURIComponent(cron)}`)
      const outcome = await res.text()
      if (!res.ok) throw new Error(`firing cron "${cron}" answered ${res.status} ${outcome}`)
      await new Promise((resolve) => setTimeout(resolve, 500))
      const d = delta(a, await snapshot(rapport, pool, database, persist, sink))
      const runs = runsPerDay(cron)
      cronRunsPerDay += runs
      cronPart.cpuMs += d.cpuMs * runs
      cronPart.statements += d.statements * runs
      cronPart.rows += d.rows * runs
      cronPart.commands += d.commands * runs
      cronPart.activeMs += d.activeMs * runs
      cronPart.mail += d.mail * runs
      say(
        `cron "${cron}" × ${runs}/day: ${d.statements} statements, ${d.commands} commands, ${fmt(d.cpuMs)} CPU ms each`,
      )
    }

    // Presence alarms while online: each wakes the UserHub, asks its conversation for sockets,
    // and writes presence to Upstash and last_online_at to Neon.
    const alarms = Math.floor((onlineMinutes * 60_000) / presenceRefreshMs)
    const sortedAcks = [...counts.ackMs].sort((x, y) => x - y)
    const medianAckSeconds = (sortedAcks[sortedAcks.length >> 1] ?? 0) / 1000

    const per = (x: number) => x / members
    const queueMessages = per(counts.awayMessages)
    const memberDay: MemberDay = {
      workerRequests: per(counts.requests) + queueMessages + cronRunsPerDay / dau,
      workerCpuMs: per(day.cpuMs) + cronPart.cpuMs / dau,
      doRequests:
        per(
          counts.upgrades + counts.restSends + counts.markReads + counts.hubDeliveries + counts.firstViews,
        ) +
        alarms * 2,
      doWebSocketMessagesIn: per(counts.socketFramesIn),
      doActiveSeconds:
        per(counts.upgradeSeconds + counts.conversationSeconds + counts.hubSeconds) +
        alarms * medianAckSeconds,
      upstashCommands: per(day.commands) + alarms + cronPart.commands / dau,
      neonStatements: per(day.statements) + alarms + cronPart.statements / dau,
      neonRows: per(day.rows) + cronPart.rows / dau,
      neonCpuSeconds: per(day.activeMs) / 1000 + cronPart.activeMs / 1000 / dau,
      neonStoredBytes: per(Math.max(0, day.dbBytes)),
      r2ClassA: per(day.r2Objects),
      r2ClassB: per(counts.mediaGets),
      r2StoredBytes: per(day.r2Bytes),
      imageTransformations: per(counts.transformations),
      emails: per(day.mail) + cronPart.mail / dau,
      queueMessages,
    }
    console.log(
      `\nbench:cost — ${members} members' day among ${others} others; ${onlineMinutes} minutes online ` +
        `(${alarms} presence alarms); prices read ${prices.read}; ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(2)}\n`,
    )
    console.log(report(memberDay, prices))
    console.log(
      `\ndriver: ${fmt(per(counts.requests))} requests/member (${fmt(per(counts.mediaGets))} media), ` +
        `${fmt(per(counts.socketFramesIn))} socket frames, median send → ack ${(medianAckSeconds * 1000).toFixed(1)} ms; ` +
        `member phase: ${day.statements} statements, ${day.commands} commands, ${fmt(day.cpuMs)} workerd CPU ms`,
    )
    if (process.env.BENCH_JSON) console.log(JSON.stringify(memberDay))
  } catch (err) {
    console.error('[bench] failed:', err instanceof Error ? err.message : err)
    keep = true
    process.exitCode = 1
  } finally {
    await pool?.end().catch(() => {})
    await rapport?.stop()
    await sink?.close()
    await admin.query(`drop database if exists ${database} with (force)`).catch(() => {})
    await admin.end().catch(() => {})
    await redis.flushdb().catch(() => {})
    redis.disconnect()
    closeSync(logFd)
    if (keep) console.error(`[bench] wrangler's output is kept in ${logPath}`)
    else rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await bench()
