/**
 * Local stand-in for the Upstash Redis REST API, backed by a real Redis (or anything with the same `call`/`multi`
 * surface). The Worker's unmodified `@upstash/redis` and `@upstash/ratelimit` clients talk to it exactly as they
 * talk to Upstash in production; only the URL and token differ.
 *
 * Protocol, as documented by Upstash (docs/redis/features/restapi) and as read in @upstash/redis 1.39's HttpClient:
 * - `POST /` with a JSON array `["SET","k","v"]` → `{"result": ...}`; `POST /pipeline` with an array of commands →
 *   an array of `{result}` / `{error}` (not atomic); `POST /multi-exec` → the same array, run in MULTI/EXEC, or one
 *   `{error}` with HTTP 400 when the transaction is discarded as a whole.
 * - Path style `GET /set/k/v` (URL-decoded segments); with POST/PUT a non-empty raw body is appended as the last
 *   argument (the one binary-safe way in), then query parameters as `NAME value` pairs (`/set/k?EX=100`).
 * - Auth: `Authorization: Bearer <token>`, or `?_token=` when no Authorization header is sent; otherwise 401.
 * - Errors: `{"error": "<Redis error text>"}` with 400. The client throws `UpstashError("<error>, command was: …")`.
 * - `Upstash-Encoding: base64`: every string in the result is base64 (UTF-8 bytes), recursively in arrays; integers
 *   and nulls stay; a top-level `"OK"` status stays as is (the client special-cases it only at top level, so
 *   nested strings are always encoded). The client sends this header by default and base64-decodes every string, so
 *   a server that ignores it corrupts values that happen to be valid base64 — such as `"test"`.
 * - `Upstash-Response-Format: json|resp2`: resp2 answers raw RESP2 bytes (`application/octet-stream`), except at
 *   `/multi-exec`, which always answers JSON; resp2 together with base64, or any other format, is a 400.
 * - `Upstash-Sync-Token` (read-your-writes between replicas) is accepted and ignored: one local Redis is always
 *   consistent, and answering without the header makes the client send an empty token next time, which is harmless.
 * - Commands that would hijack or block the one shared connection (MULTI/EXEC/WATCH, SELECT, CLIENT, HELLO,
 *   SUBSCRIBE, blocking pops, XREAD … BLOCK, MONITOR, …) are refused as Upstash refuses them:
 *   `ERR Command is not available: 'NAME'`.
 *
 * Lua: @upstash/ratelimit ≥ 2.1 starts its scripts with `#!lua flags=allow-key-locking`, a flag only Upstash knows;
 * Redis 7.0 rejects the script. Every script that passes through EVAL/SCRIPT LOAD is remembered under the SHA1 the
 * client computed (of its original text); flags Redis 7.0 does not know are dropped before the text reaches Redis,
 * and `EVALSHA <client sha>` is forwarded as `EVALSHA <sha of the adapted text>`. An EVALSHA for a SHA never seen
 * here is answered `NOSCRIPT No matching script. Please use EVAL.` without asking Redis, so the client's usual
 * EVALSHA→EVAL fallback costs one Redis command in total, never two. `SCRIPT LOAD` answers the client's SHA,
 * `SCRIPT EXISTS` answers for the client's SHAs, and `SCRIPT FLUSH` also forgets the remembered texts.
 *
 * Limitations (all invisible to @upstash/redis, which decodes every value as UTF-8 itself):
 * - Replies come from `RedisLike.call`, which for ioredis means UTF-8-decoded strings, so stored bytes that are not
 *   valid UTF-8 come back with U+FFFD replacements even under base64 (Upstash would return the raw bytes there).
 *   Writes are binary-safe through the path-style POST body. JSON numbers are sent as JavaScript prints them, so
 *   integers beyond 2^53 lose precision (the client's own JSON.parse does too).
 * - RESP2 output cannot tell a status reply from a bulk string (ioredis returns both as strings): only "OK" is
 *   written as a status. `SUBSCRIBE`/`MONITOR` server-sent-event endpoints are not offered.
 * - The connection should use RESP2 (`new Redis(url, { protocol: 2 })`) for exact Upstash reply shapes; ioredis 6
 *   defaults to RESP3 with its "legacy" mapping, which gives the same shapes for everything the clients use
 *   because command names are sent in lowercase, so ioredis applies its own RESP3→RESP2 reply transformers.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHash, timingSafeEqual } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { STATS_PATTERN, TAG_PATTERN, type TripAccount, type TripCounts, TripLedger } from './trip-log'

export interface RedisLike {
  call(command: string, ...args: (string | Buffer | number)[]): Promise<unknown>
  multi(commands: (string | number | Buffer)[][]): { exec(): Promise<[Error | null, unknown][] | null> }
}

export interface UpstashRestOptions {
  redis: RedisLike
  token: string
  /** 0 (the default) picks a free port. */
  port?: number
  /** Defaults to 127.0.0.1. */
  host?: string
  /**
   * Test-only accounting of what one client sends, for tests that assert a request's Redis cost
   * while other tests share the server. A client whose URL ends in `/__tag/<tag>` (the Upstash
   * client appends `/pipeline` etc. to whatever URL it is given) is served as usual and counted
   * under `<tag>`; `GET /__stats/<tag>` answers `{requests, commands, roundTrips, spans}` for it. Off by default;
   * test/setup/global-setup.ts turns it on.
   */
  exposeStats?: boolean
}

export interface UpstashRestServer {
  url: string
  port: number
  close(): Promise<void>
  /** Redis commands executed on behalf of clients, one per command, including each inside a pipeline/multi-exec. */
  commandCount(): number
  resetCommandCount(): void
  /** Counts under `tag` (see `exposeStats`), or of everything served when `tag` is left out. */
  stats(tag?: string): UpstashStats
}

/** Requests and commands, and the sequential round trips they took (see scripts/local-stack/trip-log.ts). */
export interface UpstashStats {
  requests: number
  commands: number
  roundTrips: number
  spans: TripCounts['spans']
}

type Arg = string | Buffer
type Reply = string | number | null | Reply[]
type Entry = { result: Reply } | { error: string }

/** A plan for one client command: what to send to Redis, or the error reply to give without sending anything. */
type Plan =
  | { send: Arg[]; post: ((reply: Reply) => Reply) | undefined }
  | {
      error: string
      /** Whether Redis would have queued the command in MULTI (a runtime error), or discarded the transaction. */
      runtime: boolean
    }

const NOSCRIPT = 'NOSCRIPT No matching script. Please use EVAL.'
const UNAUTHORIZED =
  'WRONGPASS invalid or missing auth token. See https://docs.upstash.com/redis/troubleshooting/http_unauthorized for details.'

/**
 * Refused like Upstash refuses them ("Connection: only PING and ECHO", "WATCH/UNWATCH/DISCARD are not supported",
 * "blocking commands are not supported", "Pub/Sub: only PUBLISH"), and because each would change the state of,
 * or stall, the single connection every request shares.
 */
const UNAVAILABLE = new Set([
  'auth',
  'client',
  'hello',
  'quit',
  'reset',
  'select',
  'swapdb',
  'multi',
  'exec',
  'discard',
  'watch',
  'unwatch',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
  'monitor',
  'sync',
  'psync',
  'replconf',
  'blpop',
  'brpop',
  'brpoplpush',
  'blmove',
  'blmpop',
  'bzpopmin',
  'bzpopmax',
  'bzmpop',
  'wait',
  'waitaof',
  'shutdown',
  'debug',
])

/**
 * Lowercase members of an ioredis pipeline that are not Redis commands. ioredis builds a transaction by calling
 * `pipeline[name](...args)`, so these names must never reach `multi()`; Redis itself would not know them.
 */
const NOT_COMMANDS = new Set([
  'call',
  'send_command',
  'options',
  'redis',
  'resolve',
  'reject',
  'promise',
  'length',
  'constructor',
])
const COMMAND_NAME = /^[a-z][a-z0-9_.|-]*$/

/** Script flags Redis 7.0 accepts in a `#!lua flags=…` shebang; anything else makes it reject the script. */
const REDIS_SCRIPT_FLAGS = new Set([
  'no-writes',
  'allow-oom',
  'allow-stale',
  'no-cluster',
  'allow-cross-slot-keys',
])

function sha1(data: Arg): string {
  return createHash('sha1').update(data).digest('hex')
}

/** The script text Redis 7.0 accepts: unknown shebang flags removed, the shebang dropped if nothing is left. */
export function adaptScript(source: string): string {
  if (!source.startsWith('#!lua')) return source
  const eol = source.indexOf('\n')
  const words = (eol === -1 ? source : source.slice(0, eol)).slice(2).trim().split(/\s+/)
  if (words[0] !== 'lua') return source
  let changed = false
  const kept: string[] = []
  for (const word of words.slice(1)) {
    if (!word.startsWith('flags=')) {
      kept.push(word) // not ours to judge: Redis reports unknown shebang options itself
      continue
    }
    const flags = word.slice('flags='.length).split(',')
    const known = flags.filter((flag) => REDIS_SCRIPT_FLAGS.has(flag) || flag === '')
    if (known.length !== flags.length) changed = true
    if (known.some((flag) => flag !== '')) kept.push('flags=' + known.filter((flag) => flag !== '').join(','))
  }
  if (!changed) return source
  // Without flags the script runs in Redis's pre-7.0 mode, which is how these scripts ran before the flag existed.
  // The newline is kept so line numbers in Lua error messages still match the client's script.
  const rest = eol === -1 ? '' : source.slice(eol)
  return (kept.length > 0 ? '#!lua ' + kept.join(' ') : '') + rest
}

interface KnownScript {
  /** SHA1 of the text Redis actually runs. */
  sha: string
  body: Arg
}

/** Scripts seen through EVAL / SCRIPT LOAD, by the SHA1 the client computed of the text it sent. */
class ScriptRegistry {
  private readonly scripts = new Map<string, KnownScript>()

  register(source: Arg): string {
    const clientSha = sha1(source)
    if (!this.scripts.has(clientSha)) {
      const text = typeof source === 'string' ? source : source.toString('utf8')
      const adapted = adaptScript(text)
      this.scripts.set(
        clientSha,
        adapted === text ? { sha: clientSha, body: source } : { sha: sha1(adapted), body: adapted },
      )
    }
    return clientSha
  }

  get(clientSha: Arg | undefined): KnownScript | undefined {
    return clientSha === undefined ? undefined : this.scripts.get(String(clientSha).toLowerCase())
  }

  clear(): void {
    this.scripts.clear()
  }
}

function unavailable(name: string): string {
  return `ERR Command is not available: '${name.toUpperCase()}'`
}

function unknownCommand(args: Arg[]): string {
  const rest = args
    .slice(1)
    .map((arg) => `'${String(arg).slice(0, 128)}' `)
    .join('')
  return `ERR unknown command '${String(args[0]).slice(0, 128)}', with args beginning with: ${rest}`
}

/** Decides what one client command becomes on the wire to Redis. Runs in request order, synchronously. */
function plan(args: Arg[], scripts: ScriptRegistry): Plan {
  const name = String(args[0]).toLowerCase()
  // Lowercase names make ioredis apply its reply transformers, which turn RESP3 shapes back into RESP2 ones.
  const send = args.slice()
  send[0] = name
  if (UNAVAILABLE.has(name)) return { error: unavailable(name), runtime: false }
  switch (name) {
    case 'xread':
    case 'xreadgroup':
      // Options come before STREAMS; after it, "block" could be a key name.
      for (let i = 1; i < args.length; i++) {
        const word = String(args[i]).toLowerCase()
        if (word === 'streams') break
        if (word === 'block') return { error: unavailable(name), runtime: false }
      }
      break
    case 'eval':
    case 'eval_ro':
      if (args[1] !== undefined) {
        const script = scripts.get(scripts.register(args[1]))
        if (script) send[1] = script.body
      }
      break
    case 'evalsha':
    case 'evalsha_ro': {
      if (args.length < 3) break // let Redis word the arity error
      const script = scripts.get(args[1])
      if (!script) return { error: NOSCRIPT, runtime: true }
      send[1] = script.sha
      break
    }
    case 'script': {
      const sub = String(args[1] ?? '').toLowerCase()
      if (sub === 'debug') return { error: unavailable('script debug'), runtime: false }
      if (sub === 'load' && args.length === 3 && args[2] !== undefined) {
        const clientSha = scripts.register(args[2])
        send[2] = scripts.get(clientSha)?.body ?? args[2]
        return { send, post: () => clientSha }
      }
      if (sub === 'exists' && args.length > 2) {
        const known = args.slice(2).map((sha) => scripts.get(sha))
        for (let i = 0; i < known.length; i++) {
          const script = known[i]
          if (script) send[i + 2] = script.sha
        }
        // A SHA this stand-in never saw is answered 0, consistent with answering NOSCRIPT to its EVALSHA.
        return {
          send,
          post: (reply) => (Array.isArray(reply) ? reply.map((flag, i) => (known[i] ? flag : 0)) : reply),
        }
      }
      if (sub === 'flush') scripts.clear()
      break
    }
  }
  return { send, post: undefined }
}

/** Turns whatever `call`/`exec` produced into the JSON shapes Upstash answers with. */
function normalize(value: unknown): Reply {
  if (typeof value === 'string' || typeof value === 'number') return value
  if (value === null || value === undefined) return null
  if (Array.isArray(value)) return value.map(normalize)
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : String(value)
  if (typeof value === 'boolean') return value ? 1 : 0
  // An error nested in an array reply (e.g. a Lua table holding `{err = …}`) keeps its text.
  if (value instanceof Error) return value.message
  if (value instanceof Map) return [...value].flat().map(normalize)
  if (value instanceof Set) return [...value].map(normalize)
  // ioredis turns HGETALL into an object; Upstash answers the flat field/value array.
  if (typeof value === 'object') return Object.entries(value).flat().map(normalize)
  return String(value)
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Redis error replies start with an uppercase code (ERR, WRONGTYPE, NOSCRIPT…); anything else is our failure. */
function errorStatus(message: string): number {
  return /^[A-Z][A-Z0-9_-]*( |$)/.test(message) ? 400 : 500
}

function toBase64(value: Reply): Reply {
  if (typeof value === 'string') return Buffer.from(value, 'utf8').toString('base64')
  if (Array.isArray(value)) return value.map(toBase64)
  return value
}

function encodeEntry(entry: Entry, base64: boolean): Entry {
  if (!base64 || !('result' in entry) || entry.result === 'OK') return entry
  return { result: toBase64(entry.result) }
}

function writeResp2(value: Reply, out: (string | Buffer)[]): void {
  if (value === null) out.push('$-1\r\n')
  else if (typeof value === 'number') out.push(`:${value}\r\n`)
  else if (Array.isArray(value)) {
    out.push(`*${value.length}\r\n`)
    for (const item of value) writeResp2(item, out)
  } else if (value === 'OK') out.push('+OK\r\n')
  else out.push(`$${Buffer.byteLength(value)}\r\n`, value, '\r\n')
}

function resp2(entries: Entry[]): Buffer {
  const out: (string | Buffer)[] = []
  for (const entry of entries) {
    if ('error' in entry) out.push(`-${entry.error.replace(/[\r\n]+/g, ' ')}\r\n`)
    else writeResp2(entry.result, out)
  }
  return Buffer.concat(out.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : part)))
}

class BadRequest extends Error {}

function toArg(value: unknown): Arg {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  throw new BadRequest(`ERR invalid command argument ${JSON.stringify(value)}: expected a string or a number`)
}

function parseCommand(value: unknown): Arg[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest('ERR invalid command: expected a non-empty JSON array like ["SET","key","value"]')
  }
  return value.map(toArg)
}

function parseBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    throw new BadRequest('ERR failed to parse the request body as JSON')
  }
}

function parseBatch(body: Buffer): Arg[][] {
  const value = parseBody(body)
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest('ERR invalid batch: expected a non-empty JSON array of commands')
  }
  return value.map(parseCommand)
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function tokenMatches(given: string, expected: Buffer): boolean {
  const candidate = Buffer.from(given, 'utf8')
  return candidate.length === expected.length && timingSafeEqual(candidate, expected)
}

export async function startUpstashRest(opts: UpstashRestOptions): Promise<UpstashRestServer> {
  const { redis } = opts
  const expectedToken = Buffer.from(opts.token, 'utf8')
  const host = opts.host ?? '127.0.0.1'
  const scripts = new ScriptRegistry()
  let commands = 0
  const ledger = new TripLedger()
  const currentTag = new AsyncLocalStorage<TripAccount>()
  const countCommands = (n: number): void => {
    commands += n
    ledger.total.units += n
    const tagged = currentTag.getStore()
    if (tagged) tagged.units += n
  }
  const upstashStats = ({ requests, units, roundTrips, spans }: TripCounts): UpstashStats => ({
    requests,
    commands: units,
    roundTrips,
    spans,
  })

  const callOne = (send: Arg[], post: ((reply: Reply) => Reply) | undefined): Promise<Entry> => {
    countCommands(1)
    return redis.call(send[0] as string, ...send.slice(1)).then(
      (raw) => {
        const reply = normalize(raw)
        return { result: post ? post(reply) : reply }
      },
      (error: unknown) => ({ error: errorText(error) }),
    )
  }

  const runPlan = (step: Plan): Promise<Entry> =>
    'error' in step ? Promise.resolve({ error: step.error }) : callOne(step.send, step.post)

  // Commands are planned and handed to `call` one after another without waiting, so ioredis writes them to the
  // connection in order (one round trip for the batch) and script bookkeeping sees them in order too.
  const runPipeline = (batch: Arg[][]): Promise<Entry[]> =>
    Promise.all(batch.map((args) => runPlan(plan(args, scripts))))

  /** Returns the entries, or the single error that discards the whole transaction. */
  const runTransaction = async (batch: Arg[][]): Promise<Entry[] | { error: string }> => {
    const plans = batch.map((args) => plan(args, scripts))
    const queued: Arg[][] = []
    const posts: (((reply: Reply) => Reply) | undefined)[] = []
    for (const step of plans) {
      if ('error' in step) {
        if (!step.runtime) return { error: step.error }
        continue
      }
      const name = step.send[0] as string
      if (!COMMAND_NAME.test(name) || NOT_COMMANDS.has(name)) return { error: unknownCommand(step.send) }
      queued.push(step.send)
      posts.push(step.post)
    }
    let results: [Error | null, unknown][] | null = []
    if (queued.length > 0) {
      let transaction: { exec(): Promise<[Error | null, unknown][] | null> }
      try {
        transaction = redis.multi(queued)
      } catch {
        // ioredis throws synchronously for a name it has no method for; find it to word the error like Redis.
        const culprit = queued.find((command) => {
          try {
            redis.multi([command])
            return false
          } catch {
            return true
          }
        })
        return { error: unknownCommand(culprit ?? queued[0] ?? []) }
      }
      countCommands(queued.length)
      try {
        results = await transaction.exec()
      } catch (error) {
        // EXECABORT: report the queuing error that caused it, as Upstash reports the offending command.
        const previous = (error as { previousErrors?: unknown[] }).previousErrors
        return { error: errorText(previous?.[0] ?? error) }
      }
      if (results === null) return { error: 'EXECABORT Transaction discarded because a watched key changed' }
    }
    const entries: Entry[] = []
    let next = 0
    for (const step of plans) {
      if ('error' in step) {
        entries.push({ error: step.error })
        continue
      }
      const post = posts[next]
      const [error, raw] = results[next++] ?? [new Error('ERR missing reply from EXEC'), null]
      if (error) entries.push({ error: errorText(error) })
      else {
        const reply = normalize(raw)
        entries.push({ result: post ? post(reply) : reply })
      }
    }
    return entries
  }

  const sendJson = (res: ServerResponse, status: number, payload: unknown): void => {
    const body = JSON.stringify(payload)
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
    res.end(body)
  }

  const sendResp2 = (res: ServerResponse, status: number, entries: Entry[]): void => {
    const body = resp2(entries)
    res.writeHead(status, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length })
    res.end(body)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET'
    if (method !== 'POST' && method !== 'GET' && method !== 'PUT' && method !== 'HEAD') {
      req.resume()
      sendJson(res, 405, { error: `ERR method ${method} is not allowed: use HEAD, GET, POST or PUT` })
      return
    }
    const rawUrl = req.url ?? '/'
    const queryAt = rawUrl.indexOf('?')
    const path = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt)
    const query = queryAt === -1 ? undefined : new URLSearchParams(rawUrl.slice(queryAt + 1))

    const authorization = req.headers.authorization
    const authorized =
      authorization !== undefined
        ? authorization.startsWith('Bearer ') && tokenMatches(authorization.slice(7).trim(), expectedToken)
        : query?.has('_token') === true && tokenMatches(query.get('_token') ?? '', expectedToken)
    if (!authorized) {
      req.resume()
      sendJson(res, 401, { error: UNAUTHORIZED })
      return
    }

    const body = await readBody(req)
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64'
    const format = String(req.headers['upstash-response-format'] ?? 'json').toLowerCase()
    if (format !== 'json' && format !== 'resp2') {
      throw new BadRequest(`ERR invalid Upstash-Response-Format '${format}': use json or resp2`)
    }
    if (format === 'resp2' && base64) {
      throw new BadRequest(
        'ERR Upstash-Encoding: base64 cannot be combined with Upstash-Response-Format: resp2',
      )
    }

    if (path === '/multi-exec') {
      const outcome = await runTransaction(parseBatch(body))
      if ('error' in outcome) sendJson(res, errorStatus(outcome.error), { error: outcome.error })
      else
        sendJson(
          res,
          200,
          outcome.map((entry) => encodeEntry(entry, base64)),
        )
      return
    }
    if (path === '/pipeline') {
      const entries = await runPipeline(parseBatch(body))
      if (format === 'resp2') sendResp2(res, 200, entries)
      else
        sendJson(
          res,
          200,
          entries.map((entry) => encodeEntry(entry, base64)),
        )
      return
    }

    let args: Arg[]
    if (path === '/' || path === '') {
      args = parseCommand(parseBody(body))
    } else {
      // Path style: each segment one argument (so an empty argument needs the JSON form), then the raw body.
      args = path
        .split('/')
        .filter((segment) => segment !== '')
        .map((segment) => decodeURIComponent(segment))
      if (body.length > 0 && method !== 'GET' && method !== 'HEAD') args.push(body)
      if (query) for (const [key, value] of query) if (key !== '_token') args.push(key, value)
    }
    const entry = await runPlan(plan(args, scripts))
    const status = 'error' in entry ? errorStatus(entry.error) : 200
    if (format === 'resp2') sendResp2(res, status, [entry])
    else sendJson(res, status, encodeEntry(entry, base64))
  }

  /** Serves `/__stats/<tag>`, or strips `/__tag/<tag>` and returns that tag's counters (exposeStats only). */
  const statsFor = (req: IncomingMessage, res: ServerResponse): 'answered' | TripAccount | undefined => {
    const url = req.url ?? '/'
    const stats = STATS_PATTERN.exec(url)
    if (stats) {
      req.resume()
      sendJson(res, 200, upstashStats(ledger.counts(stats[1]!)))
      return 'answered'
    }
    const tag = TAG_PATTERN.exec(url)
    if (!tag) return undefined
    req.url = url.slice(tag[0].length) || '/'
    return ledger.account(tag[1]!)
  }

  const server = createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    const tagged = opts.exposeStats ? statsFor(req, res) : undefined
    if (tagged === 'answered') return
    const accounts = tagged ? [ledger.total, tagged] : [ledger.total]
    const ends = accounts.map((account) => {
      account.requests++
      return account.begin()
    })
    res.once('close', () => ends.forEach((end) => end()))
    const handled = tagged ? currentTag.run(tagged, () => handle(req, res)) : handle(req, res)
    handled.catch((error: unknown) => {
      const message = errorText(error)
      const status = error instanceof BadRequest || error instanceof URIError ? 400 : 500
      if (!res.headersSent) sendJson(res, status, { error: message })
      else res.destroy()
    })
  })
  // Clients keep connections alive (undici drops idle ones after 4 s); outlive that so no request pays a handshake.
  server.keepAliveTimeout = 60_000
  server.headersTimeout = 65_000

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const urlHost = host.includes(':') ? `[${host}]` : host

  return {
    url: `http://${urlHost}:${port}`,
    port,
    commandCount: () => commands,
    stats: (tag) => upstashStats(tag === undefined ? ledger.total.snapshot() : ledger.counts(tag)),
    resetCommandCount: () => {
      commands = 0
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeIdleConnections()
        // Requests still waiting on Redis get a moment to finish; then their sockets are cut.
        setTimeout(() => server.closeAllConnections(), 1000).unref()
      }),
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8079' },
      host: { type: 'string', default: '127.0.0.1' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
      token: { type: 'string', default: 'dev' },
    },
  })
  const { Redis } = await import('ioredis')
  // RESP2 gives exactly the reply shapes Upstash answers with (see the header comment).
  const redis = new Redis(values.redis, { protocol: 2, maxRetriesPerRequest: 2 })
  const server = await startUpstashRest({
    redis,
    token: values.token,
    port: Number(values.port),
    host: values.host,
  })
  console.log(`Upstash REST stand-in on ${server.url} → ${values.redis} (token "${values.token}")`)
  const stop = (): void => {
    void server.close().finally(() => redis.disconnect())
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
