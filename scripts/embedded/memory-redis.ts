/**
 * In-process Redis for `npm run dev` on machines without `redis-server` (scripts/embedded/redis.ts picks it).
 *
 * Why not ioredis-mock: 8.13.1 declares `peerDependencies: { ioredis: "^5" }` and cannot be installed next to
 * ioredis 6 without --legacy-peer-deps; it has no `call(name, …args)`; and its Lua bridge hands scripts JS proxies,
 * so a missing HMGET field is a truthy `js.null` rather than `false` (@upstash/ratelimit's tokenBucket breaks),
 * GET of "" is `false`, and returned floats and `false` are not converted the Redis way. This module keeps the data
 * itself and runs scripts through scripts/embedded/lua.ts, which converts values exactly as Redis does.
 *
 * Replies mirror what ioredis (RESP2 / legacy reply mapping) hands to `call`: integers as numbers, bulk and status
 * replies as strings, nil as null, errors as rejected `ReplyError`s whose message is Redis's text, and — like
 * ioredis' reply transformer — `hgetall` (lowercase, as ioredis matches it) as an object.
 *
 * Scope: one database; strings, hashes, lists, sets, sorted sets, expiry, SCAN-family, EVAL/EVALSHA/SCRIPT and
 * MULTI via `multi([...]).exec()`. Not provided: streams, pub/sub delivery (PUBLISH answers 0), blocking commands,
 * WATCH, HyperLogLog, bitmaps, geo, ZUNIONSTORE/ZINTERSTORE. Values are kept as UTF-8 strings: bytes that are not
 * valid UTF-8 come back replaced, as they do through ioredis' string replies anyway. SCAN/HSCAN/SSCAN/ZSCAN return
 * everything matching in one page (cursor 0), which the SCAN contract allows.
 *
 * Persistence (optional): a JSON snapshot written atomically every few seconds when something changed and on
 * close(), read back on start, like an RDB file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { LuaScripting } from './lua'
import { OK, type Reply, ReplyError, StatusReply, formatDouble, formatIncrFloat } from './replies'

export { ReplyError } from './replies'

interface DataByType {
  string: string
  hash: Map<string, string>
  list: string[]
  set: Set<string>
  /** member → score */
  zset: Map<string, number>
}
type ValueType = keyof DataByType
type Value = { [T in ValueType]: { type: T; data: DataByType[T] } }[ValueType]
type DataOf<T extends ValueType> = DataByType[T]

interface Entry {
  value: Value
  /** Unix time in ms, or null for no expiry. */
  expiresAt: number | null
}

const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value'
const NOT_INTEGER = 'ERR value is not an integer or out of range'
const NOT_FLOAT = 'ERR value is not a valid float'
const SYNTAX = 'ERR syntax error'
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

function fail(message: string): never {
  throw new ReplyError(message)
}

function parseBigInt(text: string, message = NOT_INTEGER): bigint {
  // Redis' string2ll: no sign but '-', no leading zeros, no spaces, 64-bit range.
  if (!/^(?:0|-?[1-9]\d*)$/.test(text)) fail(message)
  const value = BigInt(text)
  if (value < INT64_MIN || value > INT64_MAX) fail(message)
  return value
}

function parseInteger(text: string, message = NOT_INTEGER): number {
  return Number(parseBigInt(text, message))
}

function parseFloatArg(text: string, message = NOT_FLOAT): number {
  if (/^[+-]?inf(?:inity)?$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) fail(message)
  return Number(text)
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

/** Redis glob-style patterns (KEYS, SCAN MATCH): *, ?, [abc], [^a], [a-z], \x. */
function globToRegExp(pattern: string): RegExp {
  const escape = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')
  let source = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '*') source += '[\\s\\S]*'
    else if (c === '?') source += '[\\s\\S]'
    else if (c === '\\' && i + 1 < pattern.length) source += escape(pattern[++i] as string)
    else if (c === '[') {
      let j = i + 1
      const negate = pattern[j] === '^'
      if (negate) j++
      let set = ''
      while (j < pattern.length && pattern[j] !== ']') {
        const from = pattern[j] as string
        if (from === '\\' && j + 1 < pattern.length) {
          set += escape(pattern[j + 1] as string)
          j += 2
        } else if (pattern[j + 1] === '-' && j + 2 < pattern.length && pattern[j + 2] !== ']') {
          // Redis accepts reversed ranges ([z-a]); a RegExp does not.
          const to = pattern[j + 2] as string
          const [low, high] = from <= to ? [from, to] : [to, from]
          set += `${escape(low)}-${escape(high)}`
          j += 3
        } else {
          set += escape(from)
          j++
        }
      }
      source += set === '' ? (negate ? '[\\s\\S]' : '(?!)') : `[${negate ? '^' : ''}${set}]`
      i = j
    } else source += escape(c)
  }
  return new RegExp(`^${source}$`)
}

/** Turns Redis' start/stop (negative = from the end) into a half-open [from, to) range over `length` items. */
function indexRange(length: number, startText: string, stopText: string): [number, number] {
  let start = parseInteger(startText)
  let stop = parseInteger(stopText)
  if (start < 0) start = Math.max(0, length + start)
  if (stop < 0) stop = length + stop
  if (stop >= length) stop = length - 1
  return start > stop || start >= length ? [0, 0] : [start, stop + 1]
}

interface ScoreBound {
  value: number
  exclusive: boolean
}

function parseScoreBound(text: string): ScoreBound {
  const exclusive = text.startsWith('(')
  return {
    value: parseFloatArg(exclusive ? text.slice(1) : text, 'ERR min or max is not a float'),
    exclusive,
  }
}

function aboveMin(score: number, min: ScoreBound): boolean {
  return min.exclusive ? score > min.value : score >= min.value
}

function belowMax(score: number, max: ScoreBound): boolean {
  return max.exclusive ? score < max.value : score <= max.value
}

type LexBound = { kind: 'min' } | { kind: 'max' } | { kind: 'value'; value: string; exclusive: boolean }

function parseLexBound(text: string): LexBound {
  if (text === '-') return { kind: 'min' }
  if (text === '+') return { kind: 'max' }
  if (text.startsWith('[') || text.startsWith('(')) {
    return { kind: 'value', value: text.slice(1), exclusive: text.startsWith('(') }
  }
  return fail('ERR min or max not valid string range item')
}

function lexAboveMin(member: string, min: LexBound): boolean {
  if (min.kind !== 'value') return min.kind === 'min'
  return min.exclusive ? member > min.value : member >= min.value
}

function lexBelowMax(member: string, max: LexBound): boolean {
  if (max.kind !== 'value') return max.kind === 'max'
  return max.exclusive ? member < max.value : member <= max.value
}

function compareMembers(a: [string, number], b: [string, number]): number {
  return a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
}

function withScores(entries: [string, number][], scores: boolean): Reply[] {
  return scores
    ? entries.flatMap(([member, score]) => [member, formatDouble(score)])
    : entries.map(([m]) => m)
}

/** Parses `[MATCH pattern] [COUNT n] [TYPE t]` for the SCAN family (COUNT is validated, then moot). */
function scanOptions(args: string[], allowType: boolean): { match?: RegExp; type?: string } {
  const options: { match?: RegExp; type?: string } = {}
  for (let i = 0; i < args.length; i += 2) {
    const option = (args[i] as string).toLowerCase()
    const value = args[i + 1]
    if (value === undefined) fail(SYNTAX)
    if (option === 'match') options.match = globToRegExp(value)
    else if (option === 'count') {
      if (parseInteger(value) < 1) fail(SYNTAX)
    } else if (option === 'type' && allowType) options.type = value.toLowerCase()
    else fail(SYNTAX)
  }
  return options
}

function parseCursor(text: string): void {
  if (!/^\d+$/.test(text)) fail('ERR invalid cursor')
}

type ExpiryOption = { kind: 'keep' } | { kind: 'persist' } | { kind: 'at'; at: number } | { kind: 'none' }

/** EX/PX/EXAT/PXAT (and KEEPTTL / PERSIST where allowed) as SET and GETEX take them. */
function parseExpiryOption(
  option: string,
  value: string | undefined,
  now: number,
  command: string,
): { kind: 'at'; at: number } {
  if (value === undefined) fail(SYNTAX)
  const amount = parseInteger(value)
  const invalid = `ERR invalid expire time in '${command}' command`
  if (amount <= 0) fail(invalid)
  const at =
    option === 'ex'
      ? now + amount * 1000
      : option === 'px'
        ? now + amount
        : option === 'exat'
          ? amount * 1000
          : amount
  if (!Number.isSafeInteger(at)) fail(invalid)
  return { kind: 'at', at }
}

interface CommandSpec {
  /** As in Redis' COMMAND table: exact argument count including the name, or -n for "at least n". */
  arity: number
  write?: boolean
  /** Refused inside scripts (Redis: "This Redis command is not allowed from script"). */
  noScript?: boolean
  run: (redis: InProcessRedis, args: string[]) => Reply
}

export interface InProcessRedisOptions {
  /** JSON snapshot file; omitted = nothing is persisted. */
  snapshotPath?: string
  /** How often a changed dataset is written to the snapshot (default 5000 ms). */
  saveIntervalMs?: number
  /** Scripts running longer are stopped (default 5000 ms). */
  scriptTimeLimitMs?: number
}

type ArgInput = string | Buffer | number

interface SnapshotFile {
  format: 'rapport-in-process-redis'
  version: 1
  /** [key, type, data, expiresAt] */
  entries: [string, ValueType, unknown, number | null][]
}

export class InProcessRedis {
  private readonly keys = new Map<string, Entry>()
  private readonly scripting: LuaScripting
  private readonly snapshotPath: string | undefined
  private readonly timers: NodeJS.Timeout[] = []
  private changes = 0
  private closed = false

  constructor(options: InProcessRedisOptions = {}) {
    this.snapshotPath = options.snapshotPath
    this.scripting = new LuaScripting(
      (args, { readOnly }) => this.execute(args, { fromScript: true, readOnly }),
      options.scriptTimeLimitMs,
    )
    if (this.snapshotPath) {
      this.load(this.snapshotPath)
      const saver = setInterval(() => {
        if (this.changes > 0) this.save()
      }, options.saveIntervalMs ?? 5000)
      saver.unref()
      this.timers.push(saver)
    }
    // Lazy expiry alone would keep keys nobody reads again; a sweep bounds memory like Redis' active expiry.
    const sweeper = setInterval(() => this.sweepExpired(), 1000)
    sweeper.unref()
    this.timers.push(sweeper)
  }

  /** Runs one command, resolving with ioredis-shaped values and rejecting with a ReplyError. */
  call(command: string, ...args: ArgInput[]): Promise<unknown> {
    try {
      return Promise.resolve(toClientReply(command, this.execute([command, ...args.map(toArg)])))
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
  }

  /**
   * MULTI … EXEC over `commands` (each `[name, ...args]`). As in Redis, a command that is unknown or has the wrong
   * number of arguments discards the whole transaction (exec rejects with EXECABORT and, like ioredis, lists the
   * causes in `previousErrors`); runtime errors are reported per command.
   */
  multi(commands: ArgInput[][]): { exec(): Promise<[Error | null, unknown][] | null> } {
    const queued = commands.map((command) => command.map(toArg))
    return {
      exec: async () => {
        this.assertOpen()
        const problems: ReplyError[] = []
        for (const args of queued) {
          try {
            this.validate(args, false)
            if (['multi', 'exec', 'discard', 'watch', 'unwatch'].includes(String(args[0]).toLowerCase())) {
              fail('ERR Command not allowed inside a transaction')
            }
          } catch (error) {
            problems.push(error as ReplyError)
          }
        }
        if (problems.length > 0) {
          throw Object.assign(new ReplyError('EXECABORT Transaction discarded because of previous errors.'), {
            previousErrors: problems,
          })
        }
        return queued.map((args): [Error | null, unknown] => {
          try {
            return [null, toClientReply(args[0] as string, this.execute(args))]
          } catch (error) {
            return [error instanceof Error ? error : new ReplyError(String(error)), undefined]
          }
        })
      },
    }
  }

  /** Stops the timers and writes the snapshot. Further commands are refused. */
  async close(): Promise<void> {
    if (this.closed) return
    for (const timer of this.timers) clearInterval(timer)
    if (this.snapshotPath) this.save()
    this.scripting.flush()
    this.closed = true
  }

  /** Writes the snapshot now (also done periodically and on close). */
  save(): void {
    if (!this.snapshotPath) return
    const now = Date.now()
    const entries: SnapshotFile['entries'] = []
    for (const [key, entry] of this.keys) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) continue
      const { value } = entry
      let data: unknown
      if (value.type === 'string') data = value.data
      else if (value.type === 'hash') data = [...value.data]
      else if (value.type === 'list') data = value.data
      else if (value.type === 'set') data = [...value.data]
      // JSON has no Infinity: scores are stored the way Redis prints them.
      else data = [...value.data].map(([member, score]) => [member, formatDouble(score)])
      entries.push([key, value.type, data, entry.expiresAt])
    }
    const file: SnapshotFile = { format: 'rapport-in-process-redis', version: 1, entries }
    mkdirSync(path.dirname(this.snapshotPath), { recursive: true })
    const temporary = `${this.snapshotPath}.${process.pid}.tmp`
    writeFileSync(temporary, JSON.stringify(file))
    renameSync(temporary, this.snapshotPath)
    this.changes = 0
  }

  private load(file: string): void {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
      throw error
    }
    const snapshot = JSON.parse(text) as SnapshotFile
    if (snapshot.format !== 'rapport-in-process-redis' || snapshot.version !== 1) {
      throw new Error(`${file} is not an in-process Redis snapshot (version 1); move it away to start empty`)
    }
    const now = Date.now()
    for (const [key, type, data, expiresAt] of snapshot.entries) {
      if (expiresAt !== null && expiresAt <= now) continue
      let value: Value
      if (type === 'string') value = { type, data: data as string }
      else if (type === 'hash') value = { type, data: new Map(data as [string, string][]) }
      else if (type === 'list') value = { type, data: data as string[] }
      else if (type === 'set') value = { type, data: new Set(data as string[]) }
      else {
        const pairs = (data as [string, string][]).map(([m, s]): [string, number] => [m, parseFloatArg(s)])
        value = { type: 'zset', data: new Map(pairs) }
      }
      this.keys.set(key, { value, expiresAt })
    }
  }

  private assertOpen(): void {
    if (this.closed) fail('ERR the in-process Redis has been closed')
  }

  private validate(args: string[], fromScript: boolean): CommandSpec {
    const original = args[0] ?? ''
    const name = original.toLowerCase()
    const spec = COMMANDS.get(name)
    if (!spec) {
      if (fromScript) fail('ERR Unknown Redis command called from script')
      const rest = args
        .slice(1)
        .map((arg) => `'${arg.slice(0, 128)}' `)
        .join('')
      fail(`ERR unknown command '${original.slice(0, 128)}', with args beginning with: ${rest}`)
    }
    if (spec.arity > 0 ? args.length !== spec.arity : args.length < -spec.arity) {
      fail(`ERR wrong number of arguments for '${name}' command`)
    }
    return spec
  }

  /** The synchronous core: one command, Redis semantics. Throws ReplyError for error replies. */
  execute(args: string[], context: { fromScript?: boolean; readOnly?: boolean } = {}): Reply {
    this.assertOpen()
    const spec = this.validate(args, context.fromScript ?? false)
    if (context.fromScript && spec.noScript) fail('ERR This Redis command is not allowed from script')
    if (context.readOnly && spec.write) fail('ERR Write commands are not allowed from read-only scripts.')
    const reply = spec.run(this, args.slice(1))
    if (spec.write) this.changes++
    return reply
  }

  // ---- keyspace helpers used by the command table ----

  now(): number {
    return Date.now()
  }

  entry(key: string): Entry | undefined {
    const entry = this.keys.get(key)
    if (entry && entry.expiresAt !== null && entry.expiresAt <= this.now()) {
      this.keys.delete(key)
      return undefined
    }
    return entry
  }

  /** The key's data if it holds `type`; undefined if missing; WRONGTYPE otherwise. */
  read<T extends ValueType>(key: string, type: T): DataOf<T> | undefined {
    const entry = this.entry(key)
    if (!entry) return undefined
    if (entry.value.type !== type) fail(WRONGTYPE)
    return entry.value.data as DataOf<T>
  }

  /** Like read, but creates an empty value of `type` for a missing key. */
  write<T extends ValueType>(key: string, type: T): DataOf<T> {
    const existing = this.read(key, type)
    if (existing !== undefined) return existing
    const data = (
      type === 'hash'
        ? new Map()
        : type === 'list'
          ? []
          : type === 'set'
            ? new Set()
            : type === 'zset'
              ? new Map()
              : ''
    ) as DataOf<T>
    this.keys.set(key, { value: { type, data } as Value, expiresAt: null })
    return data
  }

  /** Redis deletes a hash/list/set/zset as soon as it becomes empty. */
  dropIfEmpty(key: string): void {
    const entry = this.keys.get(key)
    if (!entry || entry.value.type === 'string') return
    const data = entry.value.data
    if ((Array.isArray(data) ? data.length : data.size) === 0) this.keys.delete(key)
  }

  setString(key: string, value: string, expiresAt: number | null): void {
    this.keys.set(key, { value: { type: 'string', data: value }, expiresAt })
  }

  remove(key: string): boolean {
    return this.entry(key) !== undefined && this.keys.delete(key)
  }

  liveKeys(): string[] {
    const now = this.now()
    const result: string[] = []
    for (const [key, entry] of this.keys) {
      if (entry.expiresAt === null || entry.expiresAt > now) result.push(key)
    }
    return result
  }

  flush(): void {
    this.keys.clear()
  }

  rename(from: string, to: string, onlyIfAbsent: boolean): boolean {
    const entry = this.entry(from)
    if (!entry) fail('ERR no such key')
    if (onlyIfAbsent && this.entry(to)) return false
    this.keys.delete(from)
    this.keys.set(to, entry)
    return true
  }

  get scripts(): LuaScripting {
    return this.scripting
  }

  private sweepExpired(): void {
    const now = this.now()
    for (const [key, entry] of this.keys) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) this.keys.delete(key)
    }
  }
}

function toArg(value: ArgInput): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number') return String(value)
  return value.toString('utf8')
}

/** The shapes ioredis gives `call`: status replies become plain strings; `hgetall` becomes an object. */
function toClientReply(command: string, reply: Reply): unknown {
  if (command === 'hgetall' && Array.isArray(reply)) {
    const object: Record<string, unknown> = {}
    for (let i = 0; i < reply.length; i += 2) {
      // defineProperty so that a field named __proto__ is stored as data (as ioredis does).
      Object.defineProperty(object, String(reply[i]), {
        value: reply[i + 1],
        configurable: true,
        enumerable: true,
        writable: true,
      })
    }
    return object
  }
  return plain(reply)
}

function plain(reply: Reply): unknown {
  if (reply instanceof StatusReply) return reply.status
  if (Array.isArray(reply)) return reply.map(plain)
  return reply
}

// ---------------------------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------------------------

const COMMANDS = new Map<string, CommandSpec>()

function command(
  name: string,
  arity: number,
  run: CommandSpec['run'],
  flags: Partial<CommandSpec> = {},
): void {
  COMMANDS.set(name, { arity, run, ...flags })
}

function writeCommand(name: string, arity: number, run: CommandSpec['run']): void {
  command(name, arity, run, { write: true })
}

const key0 = (args: string[]): string => args[0] as string
const at = (args: string[], i: number): string => args[i] as string

// ---- connection / server ----

command('ping', -1, (_r, a) => {
  if (a.length > 1) fail("ERR wrong number of arguments for 'ping' command")
  return a.length === 0 ? new StatusReply('PONG') : at(a, 0)
})
command('echo', 2, (_r, a) => at(a, 0))
command('time', 1, (r) => {
  const micros = BigInt(r.now()) * 1000n + BigInt(Math.floor((performance.now() % 1) * 1000))
  return [String(micros / 1_000_000n), String(micros % 1_000_000n)]
})
command('select', 2, (_r, a) => {
  if (parseInteger(at(a, 0)) !== 0) fail('ERR DB index is out of range (the in-process Redis has only DB 0)')
  return OK
})
command('dbsize', 1, (r) => r.liveKeys().length)
writeCommand('flushdb', -1, (r) => (r.flush(), OK))
writeCommand('flushall', -1, (r) => (r.flush(), OK))
command('info', -1, (r) =>
  [
    '# Server',
    'redis_version:7.0.0',
    'redis_mode:standalone',
    'executable:in-process (scripts/embedded/memory-redis.ts)',
    '',
    '# Keyspace',
    `db0:keys=${r.liveKeys().length},expires=0,avg_ttl=0`,
    '',
  ].join('\r\n'),
)
command('publish', 3, () => 0) // No subscribers can exist in-process.

// ---- keys ----

writeCommand('del', -2, (r, a) => a.filter((key) => r.remove(key)).length)
writeCommand('unlink', -2, (r, a) => a.filter((key) => r.remove(key)).length)
command('exists', -2, (r, a) => a.filter((key) => r.entry(key) !== undefined).length)
command('touch', -2, (r, a) => a.filter((key) => r.entry(key) !== undefined).length)
command('type', 2, (r, a) => new StatusReply(r.entry(key0(a))?.value.type ?? 'none'))
command('keys', 2, (r, a) => {
  const pattern = globToRegExp(at(a, 0))
  return r.liveKeys().filter((key) => pattern.test(key))
})
command('scan', -2, (r, a) => {
  parseCursor(at(a, 0))
  const { match, type } = scanOptions(a.slice(1), true)
  const keys = r
    .liveKeys()
    .filter((key) => (!match || match.test(key)) && (!type || r.entry(key)?.value.type === type))
  return ['0', keys]
})
command('randomkey', 1, (r) => {
  const keys = r.liveKeys()
  return keys.length === 0 ? null : (keys[Math.floor(Math.random() * keys.length)] as string)
})
writeCommand('rename', 3, (r, a) => (r.rename(at(a, 0), at(a, 1), false), OK))
writeCommand('renamenx', 3, (r, a) => (r.rename(at(a, 0), at(a, 1), true) ? 1 : 0))
writeCommand('persist', 2, (r, a) => {
  const entry = r.entry(key0(a))
  if (!entry || entry.expiresAt === null) return 0
  entry.expiresAt = null
  return 1
})

function expireCommand(name: string, toMillis: (amount: number, now: number) => number): void {
  writeCommand(name, -3, (r, a) => {
    const amount = parseInteger(at(a, 1))
    const now = r.now()
    const expiresAt = toMillis(amount, now)
    if (!Number.isSafeInteger(expiresAt)) fail(`ERR invalid expire time in '${name}' command`)
    const flags = new Set(a.slice(2).map((flag) => flag.toLowerCase()))
    for (const flag of flags)
      if (!['nx', 'xx', 'gt', 'lt'].includes(flag)) fail(`ERR Unsupported option ${flag}`)
    if (flags.has('nx') && flags.size > 1) {
      fail('ERR NX and XX, GT or LT options at the same time are not compatible')
    }
    if (flags.has('gt') && flags.has('lt')) fail('ERR GT and LT options at the same time are not compatible')
    const entry = r.entry(key0(a))
    if (!entry) return 0
    const current = entry.expiresAt
    if (flags.has('nx') && current !== null) return 0
    if (flags.has('xx') && current === null) return 0
    // A key without expiry counts as an infinite TTL for GT and LT.
    if (flags.has('gt') && (current === null || expiresAt <= current)) return 0
    if (flags.has('lt') && current !== null && expiresAt >= current) return 0
    if (expiresAt <= now) r.remove(key0(a))
    else entry.expiresAt = expiresAt
    return 1
  })
}
expireCommand('expire', (seconds, now) => now + seconds * 1000)
expireCommand('pexpire', (ms, now) => now + ms)
expireCommand('expireat', (seconds) => seconds * 1000)
expireCommand('pexpireat', (ms) => ms)

function ttlCommand(name: string, reply: (remainingMs: number, expiresAt: number) => number): void {
  command(name, 2, (r, a) => {
    const entry = r.entry(key0(a))
    if (!entry) return -2
    if (entry.expiresAt === null) return -1
    return reply(entry.expiresAt - r.now(), entry.expiresAt)
  })
}
ttlCommand('ttl', (ms) => Math.floor((ms + 500) / 1000))
ttlCommand('pttl', (ms) => ms)
ttlCommand('expiretime', (_ms, expiresAt) => Math.floor(expiresAt / 1000))
ttlCommand('pexpiretime', (_ms, expiresAt) => expiresAt)

// ---- strings ----

command('get', 2, (r, a) => r.read(key0(a), 'string') ?? null)
command('mget', -2, (r, a) =>
  a.map((key) => {
    const entry = r.entry(key)
    return entry?.value.type === 'string' ? entry.value.data : null
  }),
)
writeCommand('set', -3, (r, a) => {
  const [key = '', value = ''] = a
  let condition: 'nx' | 'xx' | undefined
  let get = false
  let expiry: ExpiryOption = { kind: 'none' }
  const now = r.now()
  for (let i = 2; i < a.length; i++) {
    const option = at(a, i).toLowerCase()
    if ((option === 'nx' || option === 'xx') && !condition) condition = option
    else if (option === 'get' && !get) get = true
    else if (option === 'keepttl' && expiry.kind === 'none') expiry = { kind: 'keep' }
    else if (['ex', 'px', 'exat', 'pxat'].includes(option) && expiry.kind === 'none') {
      expiry = parseExpiryOption(option, a[++i], now, 'set')
    } else fail(SYNTAX)
  }
  const entry = r.entry(key)
  if (get && entry && entry.value.type !== 'string') fail(WRONGTYPE)
  const previous = entry?.value.type === 'string' ? entry.value.data : null
  const proceed = condition === 'nx' ? !entry : condition === 'xx' ? entry !== undefined : true
  if (proceed) {
    const expiresAt =
      expiry.kind === 'at' ? expiry.at : expiry.kind === 'keep' ? (entry?.expiresAt ?? null) : null
    r.setString(key, value, expiresAt)
  }
  if (get) return previous
  return proceed ? OK : null
})
writeCommand('setnx', 3, (r, a) => {
  if (r.entry(key0(a))) return 0
  r.setString(key0(a), at(a, 1), null)
  return 1
})
function setexCommand(name: string, unitMs: number): void {
  writeCommand(name, 4, (r, a) => {
    const amount = parseInteger(at(a, 1))
    if (amount <= 0) fail(`ERR invalid expire time in '${name}' command`)
    r.setString(key0(a), at(a, 2), r.now() + amount * unitMs)
    return OK
  })
}
setexCommand('setex', 1000)
setexCommand('psetex', 1)
writeCommand('getset', 3, (r, a) => {
  const previous = r.read(key0(a), 'string') ?? null
  r.setString(key0(a), at(a, 1), null)
  return previous
})
writeCommand('getdel', 2, (r, a) => {
  const previous = r.read(key0(a), 'string') ?? null
  if (previous !== null) r.remove(key0(a))
  return previous
})
writeCommand('getex', -2, (r, a) => {
  const value = r.read(key0(a), 'string')
  let expiry: ExpiryOption = { kind: 'none' }
  for (let i = 1; i < a.length; i++) {
    const option = at(a, i).toLowerCase()
    if (expiry.kind !== 'none') fail(SYNTAX)
    if (option === 'persist') expiry = { kind: 'persist' }
    else if (['ex', 'px', 'exat', 'pxat'].includes(option))
      expiry = parseExpiryOption(option, a[++i], r.now(), 'getex')
    else fail(SYNTAX)
  }
  const entry = r.entry(key0(a))
  if (value === undefined || !entry) return null
  if (expiry.kind === 'persist') entry.expiresAt = null
  else if (expiry.kind === 'at') entry.expiresAt = expiry.at
  return value
})
writeCommand('mset', -3, (r, a) => {
  if (a.length % 2 !== 0) fail("ERR wrong number of arguments for 'mset' command")
  for (let i = 0; i < a.length; i += 2) r.setString(at(a, i), at(a, i + 1), null)
  return OK
})
writeCommand('msetnx', -3, (r, a) => {
  if (a.length % 2 !== 0) fail("ERR wrong number of arguments for 'msetnx' command")
  for (let i = 0; i < a.length; i += 2) if (r.entry(at(a, i))) return 0
  for (let i = 0; i < a.length; i += 2) r.setString(at(a, i), at(a, i + 1), null)
  return 1
})

function incrementBy(r: InProcessRedis, key: string, delta: bigint): number {
  const entry = r.entry(key)
  if (entry && entry.value.type !== 'string') fail(WRONGTYPE)
  const current = entry ? parseBigInt(entry.value.data as string) : 0n
  const next = current + delta
  if (next < INT64_MIN || next > INT64_MAX) fail('ERR increment or decrement would overflow')
  // INCR keeps the key's TTL.
  r.setString(key, next.toString(), entry?.expiresAt ?? null)
  return Number(next)
}
writeCommand('incr', 2, (r, a) => incrementBy(r, key0(a), 1n))
writeCommand('decr', 2, (r, a) => incrementBy(r, key0(a), -1n))
writeCommand('incrby', 3, (r, a) => incrementBy(r, key0(a), parseBigInt(at(a, 1))))
writeCommand('decrby', 3, (r, a) => incrementBy(r, key0(a), -parseBigInt(at(a, 1))))
writeCommand('incrbyfloat', 3, (r, a) => {
  const entry = r.entry(key0(a))
  if (entry && entry.value.type !== 'string') fail(WRONGTYPE)
  const current = entry ? parseFloatArg(entry.value.data as string) : 0
  const next = current + parseFloatArg(at(a, 1))
  if (!Number.isFinite(next)) fail('ERR increment would produce NaN or Infinity')
  const text = formatIncrFloat(next)
  r.setString(key0(a), text, entry?.expiresAt ?? null)
  return text
})
writeCommand('append', 3, (r, a) => {
  const entry = r.entry(key0(a))
  if (entry && entry.value.type !== 'string') fail(WRONGTYPE)
  const next = (entry ? (entry.value.data as string) : '') + at(a, 1)
  r.setString(key0(a), next, entry?.expiresAt ?? null)
  return byteLength(next)
})
command('strlen', 2, (r, a) => byteLength(r.read(key0(a), 'string') ?? ''))
command('getrange', 4, (r, a) => {
  const bytes = Buffer.from(r.read(key0(a), 'string') ?? '', 'utf8')
  const [from, to] = indexRange(bytes.length, at(a, 1), at(a, 2))
  return bytes.subarray(from, to).toString('utf8')
})
writeCommand('setrange', 4, (r, a) => {
  const offset = parseInteger(at(a, 1))
  if (offset < 0 || offset > 512 * 1024 * 1024) fail('ERR offset is out of range')
  const entry = r.entry(key0(a))
  if (entry && entry.value.type !== 'string') fail(WRONGTYPE)
  const patch = Buffer.from(at(a, 2), 'utf8')
  const current = Buffer.from(entry ? (entry.value.data as string) : '', 'utf8')
  if (patch.length === 0) return current.length
  const next = Buffer.alloc(Math.max(current.length, offset + patch.length))
  current.copy(next)
  patch.copy(next, offset)
  r.setString(key0(a), next.toString('utf8'), entry?.expiresAt ?? null)
  return next.length
})

// ---- hashes ----

function hashSet(r: InProcessRedis, a: string[], name: string): number {
  if ((a.length - 1) % 2 !== 0) fail(`ERR wrong number of arguments for '${name}' command`)
  const hash = r.write(key0(a), 'hash')
  let added = 0
  for (let i = 1; i < a.length; i += 2) {
    if (!hash.has(at(a, i))) added++
    hash.set(at(a, i), at(a, i + 1))
  }
  return added
}
writeCommand('hset', -4, (r, a) => hashSet(r, a, 'hset'))
writeCommand('hmset', -4, (r, a) => (hashSet(r, a, 'hmset'), OK))
writeCommand('hsetnx', 4, (r, a) => {
  const hash = r.write(key0(a), 'hash')
  if (hash.has(at(a, 1))) return 0
  hash.set(at(a, 1), at(a, 2))
  return 1
})
command('hget', 3, (r, a) => r.read(key0(a), 'hash')?.get(at(a, 1)) ?? null)
command('hmget', -3, (r, a) => {
  const hash = r.read(key0(a), 'hash')
  return a.slice(1).map((field) => hash?.get(field) ?? null)
})
command('hgetall', 2, (r, a) => [...(r.read(key0(a), 'hash') ?? [])].flat())
writeCommand('hdel', -3, (r, a) => {
  const hash = r.read(key0(a), 'hash')
  if (!hash) return 0
  const removed = a.slice(1).filter((field) => hash.delete(field)).length
  r.dropIfEmpty(key0(a))
  return removed
})
command('hexists', 3, (r, a) => (r.read(key0(a), 'hash')?.has(at(a, 1)) ? 1 : 0))
command('hlen', 2, (r, a) => r.read(key0(a), 'hash')?.size ?? 0)
command('hkeys', 2, (r, a) => [...(r.read(key0(a), 'hash')?.keys() ?? [])])
command('hvals', 2, (r, a) => [...(r.read(key0(a), 'hash')?.values() ?? [])])
command('hstrlen', 3, (r, a) => byteLength(r.read(key0(a), 'hash')?.get(at(a, 1)) ?? ''))
writeCommand('hincrby', 4, (r, a) => {
  const delta = parseBigInt(at(a, 2))
  const hash = r.write(key0(a), 'hash')
  const current = hash.get(at(a, 1))
  const next = (current === undefined ? 0n : parseBigInt(current, 'ERR hash value is not an integer')) + delta
  if (next < INT64_MIN || next > INT64_MAX) fail('ERR increment or decrement would overflow')
  hash.set(at(a, 1), next.toString())
  return Number(next)
})
writeCommand('hincrbyfloat', 4, (r, a) => {
  const delta = parseFloatArg(at(a, 2))
  const hash = r.write(key0(a), 'hash')
  const current = hash.get(at(a, 1))
  const next = (current === undefined ? 0 : parseFloatArg(current, 'ERR hash value is not a float')) + delta
  if (!Number.isFinite(next)) fail('ERR increment would produce NaN or Infinity')
  const text = formatIncrFloat(next)
  hash.set(at(a, 1), text)
  return text
})
command('hscan', -3, (r, a) => {
  parseCursor(at(a, 1))
  const { match } = scanOptions(a.slice(2), false)
  const items = [...(r.read(key0(a), 'hash') ?? [])].filter(([field]) => !match || match.test(field))
  return ['0', items.flat()]
})

// ---- lists ----

function pushCommand(name: string, left: boolean, onlyExisting: boolean): void {
  writeCommand(name, -3, (r, a) => {
    if (onlyExisting && !r.read(key0(a), 'list')) return 0
    const list = r.write(key0(a), 'list')
    for (const value of a.slice(1)) {
      if (left) list.unshift(value)
      else list.push(value)
    }
    return list.length
  })
}
pushCommand('lpush', true, false)
pushCommand('rpush', false, false)
pushCommand('lpushx', true, true)
pushCommand('rpushx', false, true)

function popCommand(name: string, left: boolean): void {
  writeCommand(name, -2, (r, a) => {
    if (a.length > 2) fail(SYNTAX)
    const count =
      a[1] === undefined ? undefined : parseInteger(a[1], 'ERR value is out of range, must be positive')
    if (count !== undefined && count < 0) fail('ERR value is out of range, must be positive')
    const list = r.read(key0(a), 'list')
    if (!list) return null
    const taken = left
      ? list.splice(0, count ?? 1)
      : list.splice(Math.max(0, list.length - (count ?? 1))).reverse()
    r.dropIfEmpty(key0(a))
    return count === undefined ? (taken[0] ?? null) : taken
  })
}
popCommand('lpop', true)
popCommand('rpop', false)
command('llen', 2, (r, a) => r.read(key0(a), 'list')?.length ?? 0)
command('lrange', 4, (r, a) => {
  const list = r.read(key0(a), 'list') ?? []
  const [from, to] = indexRange(list.length, at(a, 1), at(a, 2))
  return list.slice(from, to)
})
command('lindex', 3, (r, a) => {
  const list = r.read(key0(a), 'list') ?? []
  const index = parseInteger(at(a, 1))
  return list[index < 0 ? list.length + index : index] ?? null
})
writeCommand('lset', 4, (r, a) => {
  const list = r.read(key0(a), 'list')
  if (!list) fail('ERR no such key')
  const raw = parseInteger(at(a, 1))
  const index = raw < 0 ? list.length + raw : raw
  if (index < 0 || index >= list.length) fail('ERR index out of range')
  list[index] = at(a, 2)
  return OK
})
writeCommand('lrem', 4, (r, a) => {
  const count = parseInteger(at(a, 1))
  const list = r.read(key0(a), 'list')
  if (!list) return 0
  const element = at(a, 2)
  let removed = 0
  const limit = count === 0 ? Infinity : Math.abs(count)
  if (count >= 0) {
    for (let i = 0; i < list.length && removed < limit;) {
      if (list[i] === element) {
        list.splice(i, 1)
        removed++
      } else i++
    }
  } else {
    for (let i = list.length - 1; i >= 0 && removed < limit; i--) {
      if (list[i] === element) {
        list.splice(i, 1)
        removed++
      }
    }
  }
  r.dropIfEmpty(key0(a))
  return removed
})
writeCommand('ltrim', 4, (r, a) => {
  const list = r.read(key0(a), 'list')
  if (!list) return OK
  const [from, to] = indexRange(list.length, at(a, 1), at(a, 2))
  const kept = list.slice(from, to)
  list.splice(0, list.length, ...kept)
  r.dropIfEmpty(key0(a))
  return OK
})
writeCommand('linsert', 5, (r, a) => {
  const where = at(a, 1).toLowerCase()
  if (where !== 'before' && where !== 'after') fail(SYNTAX)
  const list = r.read(key0(a), 'list')
  if (!list) return 0
  const index = list.indexOf(at(a, 2))
  if (index === -1) return -1
  list.splice(where === 'before' ? index : index + 1, 0, at(a, 3))
  return list.length
})
command('lpos', -3, (r, a) => {
  let rank = 1
  let count: number | undefined
  let maxlen = 0
  for (let i = 2; i < a.length; i += 2) {
    const option = at(a, i).toLowerCase()
    const value = a[i + 1]
    if (value === undefined) fail(SYNTAX)
    if (option === 'rank') {
      rank = parseInteger(value)
      if (rank === 0)
        fail(
          "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
        )
    } else if (option === 'count') {
      count = parseInteger(value)
      if (count < 0) fail("ERR COUNT can't be negative")
    } else if (option === 'maxlen') {
      maxlen = parseInteger(value)
      if (maxlen < 0) fail("ERR MAXLEN can't be negative")
    } else fail(SYNTAX)
  }
  const list = r.read(key0(a), 'list') ?? []
  const matches: number[] = []
  const wanted = count === undefined ? 1 : count === 0 ? Infinity : count
  let skip = Math.abs(rank) - 1
  const step = rank > 0 ? 1 : -1
  let scanned = 0
  for (let i = rank > 0 ? 0 : list.length - 1; i >= 0 && i < list.length; i += step) {
    if (maxlen > 0 && scanned++ >= maxlen) break
    if (list[i] !== at(a, 1)) continue
    if (skip > 0) {
      skip--
      continue
    }
    matches.push(i)
    if (matches.length >= wanted) break
  }
  return count === undefined ? (matches[0] ?? null) : matches
})

function moveBetweenLists(r: InProcessRedis, a: string[], fromLeft: boolean, toLeft: boolean): Reply {
  const source = r.read(key0(a), 'list')
  if (r.entry(at(a, 1))) r.read(at(a, 1), 'list') // WRONGTYPE before anything moves
  if (!source || source.length === 0) return null
  const value = (fromLeft ? source.shift() : source.pop()) as string
  r.dropIfEmpty(key0(a))
  const target = r.write(at(a, 1), 'list')
  if (toLeft) target.unshift(value)
  else target.push(value)
  return value
}
writeCommand('lmove', 5, (r, a) => {
  const from = at(a, 2).toLowerCase()
  const to = at(a, 3).toLowerCase()
  if (!['left', 'right'].includes(from) || !['left', 'right'].includes(to)) fail(SYNTAX)
  return moveBetweenLists(r, a, from === 'left', to === 'left')
})
writeCommand('rpoplpush', 3, (r, a) => moveBetweenLists(r, a, false, true))

// ---- sets ----

writeCommand('sadd', -3, (r, a) => {
  const set = r.write(key0(a), 'set')
  let added = 0
  for (const member of a.slice(1)) {
    if (!set.has(member)) {
      set.add(member)
      added++
    }
  }
  return added
})
writeCommand('srem', -3, (r, a) => {
  const set = r.read(key0(a), 'set')
  if (!set) return 0
  const removed = a.slice(1).filter((member) => set.delete(member)).length
  r.dropIfEmpty(key0(a))
  return removed
})
command('smembers', 2, (r, a) => [...(r.read(key0(a), 'set') ?? [])])
command('sismember', 3, (r, a) => (r.read(key0(a), 'set')?.has(at(a, 1)) ? 1 : 0))
command('smismember', -3, (r, a) => {
  const set = r.read(key0(a), 'set')
  return a.slice(1).map((member) => (set?.has(member) ? 1 : 0))
})
command('scard', 2, (r, a) => r.read(key0(a), 'set')?.size ?? 0)

function randomMembers(members: string[], count: number, allowRepeats: boolean): string[] {
  if (allowRepeats) {
    return Array.from({ length: count }, () => members[Math.floor(Math.random() * members.length)] as string)
  }
  const pool = members.slice()
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[pool[i], pool[j]] = [pool[j] as string, pool[i] as string]
  }
  return pool.slice(0, count)
}
writeCommand('spop', -2, (r, a) => {
  if (a.length > 2) fail(SYNTAX)
  const count =
    a[1] === undefined ? undefined : parseInteger(a[1], 'ERR value is out of range, must be positive')
  if (count !== undefined && count < 0) fail('ERR value is out of range, must be positive')
  const set = r.read(key0(a), 'set')
  if (!set) return count === undefined ? null : []
  const taken = randomMembers([...set], count ?? 1, false)
  for (const member of taken) set.delete(member)
  r.dropIfEmpty(key0(a))
  return count === undefined ? (taken[0] ?? null) : taken
})
command('srandmember', -2, (r, a) => {
  if (a.length > 2) fail(SYNTAX)
  const count = a[1] === undefined ? undefined : parseInteger(a[1])
  const members = [...(r.read(key0(a), 'set') ?? [])]
  if (count === undefined) return randomMembers(members, 1, false)[0] ?? null
  if (members.length === 0) return []
  return count < 0 ? randomMembers(members, -count, true) : randomMembers(members, count, false)
})

function setOperation(r: InProcessRedis, keys: string[], op: 'inter' | 'union' | 'diff'): Set<string> {
  const sets = keys.map((key) => r.read(key, 'set') ?? new Set<string>())
  const [first = new Set<string>(), ...rest] = sets
  if (op === 'union') return new Set(sets.flatMap((set) => [...set]))
  if (op === 'inter') return new Set([...first].filter((m) => rest.every((set) => set.has(m))))
  return new Set([...first].filter((m) => !rest.some((set) => set.has(m))))
}
for (const op of ['inter', 'union', 'diff'] as const) {
  command(`s${op}`, -2, (r, a) => [...setOperation(r, a, op)])
  writeCommand(`s${op}store`, -3, (r, a) => {
    const result = setOperation(r, a.slice(1), op)
    r.remove(key0(a))
    if (result.size > 0) {
      const target = r.write(key0(a), 'set')
      for (const member of result) target.add(member)
    }
    return result.size
  })
}
writeCommand('smove', 4, (r, a) => {
  const source = r.read(key0(a), 'set')
  if (r.entry(at(a, 1))) r.read(at(a, 1), 'set')
  if (!source || !source.delete(at(a, 2))) return 0
  r.dropIfEmpty(key0(a))
  r.write(at(a, 1), 'set').add(at(a, 2))
  return 1
})
command('sscan', -3, (r, a) => {
  parseCursor(at(a, 1))
  const { match } = scanOptions(a.slice(2), false)
  return ['0', [...(r.read(key0(a), 'set') ?? [])].filter((member) => !match || match.test(member))]
})

// ---- sorted sets ----

function sortedEntries(zset: Map<string, number> | undefined): [string, number][] {
  return zset ? [...zset].sort(compareMembers) : []
}

writeCommand('zadd', -4, (r, a) => {
  const flags = new Set<string>()
  let i = 1
  for (; i < a.length; i++) {
    const flag = at(a, i).toLowerCase()
    if (!['nx', 'xx', 'gt', 'lt', 'ch', 'incr'].includes(flag)) break
    flags.add(flag)
  }
  const pairs = a.slice(i)
  if (pairs.length === 0 || pairs.length % 2 !== 0) fail(SYNTAX)
  if (flags.has('nx') && flags.has('xx')) fail('ERR XX and NX options at the same time are not compatible')
  if ((flags.has('gt') && flags.has('lt')) || (flags.has('nx') && (flags.has('gt') || flags.has('lt')))) {
    fail('ERR GT, LT, and/or NX options at the same time are not compatible')
  }
  if (flags.has('incr') && pairs.length !== 2)
    fail('ERR INCR option supports a single increment-element pair')
  const scores = pairs.filter((_, j) => j % 2 === 0).map((score) => parseFloatArg(score))
  const existing = r.read(key0(a), 'zset')
  if (!existing && flags.has('xx')) return flags.has('incr') ? null : 0
  const zset = existing ?? r.write(key0(a), 'zset')
  let added = 0
  let changed = 0
  let incrResult: number | null = null
  scores.forEach((given, j) => {
    const member = pairs[j * 2 + 1] as string
    const current = zset.get(member)
    if ((flags.has('nx') && current !== undefined) || (flags.has('xx') && current === undefined)) return
    let score = given
    if (flags.has('incr')) {
      score = (current ?? 0) + given
      if (Number.isNaN(score)) fail('ERR resulting score is not a number (NaN)')
    }
    if (current !== undefined) {
      if ((flags.has('gt') && score <= current) || (flags.has('lt') && score >= current)) return
      if (score !== current) changed++
    } else added++
    zset.set(member, score)
    incrResult = score
  })
  r.dropIfEmpty(key0(a))
  if (flags.has('incr')) return incrResult === null ? null : formatDouble(incrResult)
  return flags.has('ch') ? added + changed : added
})
writeCommand('zincrby', 4, (r, a) => {
  const delta = parseFloatArg(at(a, 1))
  const zset = r.write(key0(a), 'zset')
  const score = (zset.get(at(a, 2)) ?? 0) + delta
  if (Number.isNaN(score)) fail('ERR resulting score is not a number (NaN)')
  zset.set(at(a, 2), score)
  return formatDouble(score)
})
writeCommand('zrem', -3, (r, a) => {
  const zset = r.read(key0(a), 'zset')
  if (!zset) return 0
  const removed = a.slice(1).filter((member) => zset.delete(member)).length
  r.dropIfEmpty(key0(a))
  return removed
})
command('zscore', 3, (r, a) => {
  const score = r.read(key0(a), 'zset')?.get(at(a, 1))
  return score === undefined ? null : formatDouble(score)
})
command('zmscore', -3, (r, a) => {
  const zset = r.read(key0(a), 'zset')
  return a.slice(1).map((member) => {
    const score = zset?.get(member)
    return score === undefined ? null : formatDouble(score)
  })
})
command('zcard', 2, (r, a) => r.read(key0(a), 'zset')?.size ?? 0)
command('zcount', 4, (r, a) => {
  const min = parseScoreBound(at(a, 1))
  const max = parseScoreBound(at(a, 2))
  return [...(r.read(key0(a), 'zset')?.values() ?? [])].filter((s) => aboveMin(s, min) && belowMax(s, max))
    .length
})
function rankCommand(name: string, reverse: boolean): void {
  command(name, -3, (r, a) => {
    const withScore = a[2]?.toLowerCase() === 'withscore'
    if (a.length > 3 || (a.length === 3 && !withScore)) fail(SYNTAX)
    const entries = sortedEntries(r.read(key0(a), 'zset'))
    if (reverse) entries.reverse()
    const index = entries.findIndex(([member]) => member === at(a, 1))
    if (index === -1) return null
    return withScore ? [index, formatDouble((entries[index] as [string, number])[1])] : index
  })
}
rankCommand('zrank', false)
rankCommand('zrevrank', true)

interface RangeRequest {
  by: 'rank' | 'score' | 'lex'
  reverse: boolean
  start: string
  stop: string
  limit?: { offset: number; count: number }
  withScores: boolean
}

/** ZRANGE's unified range query (also behind ZRANGEBYSCORE, ZREVRANGE…, ZREMRANGEBY…). */
function rangeQuery(zset: Map<string, number> | undefined, request: RangeRequest): [string, number][] {
  const entries = sortedEntries(zset)
  if (request.reverse) entries.reverse()
  let selected: [string, number][]
  if (request.by === 'rank') {
    const [from, to] = indexRange(entries.length, request.start, request.stop)
    selected = entries.slice(from, to)
  } else if (request.by === 'score') {
    // Reversed ranges name the maximum first.
    const min = parseScoreBound(request.reverse ? request.stop : request.start)
    const max = parseScoreBound(request.reverse ? request.start : request.stop)
    selected = entries.filter(([, score]) => aboveMin(score, min) && belowMax(score, max))
  } else {
    const min = parseLexBound(request.reverse ? request.stop : request.start)
    const max = parseLexBound(request.reverse ? request.start : request.stop)
    selected = entries.filter(([member]) => lexAboveMin(member, min) && lexBelowMax(member, max))
  }
  if (request.limit) {
    const { offset, count } = request.limit
    if (offset < 0) return []
    selected = selected.slice(offset, count < 0 ? undefined : offset + count)
  }
  return selected
}

function parseRangeOptions(
  args: string[],
  base: Omit<RangeRequest, 'withScores'>,
  allowed: string[],
): RangeRequest {
  const request: RangeRequest = { ...base, withScores: false }
  for (let i = 0; i < args.length; i++) {
    const option = at(args, i).toLowerCase()
    if (!allowed.includes(option)) fail(SYNTAX)
    if (option === 'withscores') request.withScores = true
    else if (option === 'rev') request.reverse = true
    else if (option === 'byscore') request.by = 'score'
    else if (option === 'bylex') request.by = 'lex'
    else if (option === 'limit') {
      const offset = args[i + 1]
      const count = args[i + 2]
      if (offset === undefined || count === undefined) fail(SYNTAX)
      request.limit = { offset: parseInteger(offset), count: parseInteger(count) }
      i += 2
    }
  }
  if (request.limit && request.by === 'rank') {
    fail('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX')
  }
  if (request.withScores && request.by === 'lex') {
    fail('ERR syntax error, WITHSCORES not supported in combination with BYLEX')
  }
  return request
}

command('zrange', -4, (r, a) => {
  const request = parseRangeOptions(
    a.slice(3),
    { by: 'rank', reverse: false, start: at(a, 1), stop: at(a, 2) },
    ['withscores', 'rev', 'byscore', 'bylex', 'limit'],
  )
  return withScores(rangeQuery(r.read(key0(a), 'zset'), request), request.withScores)
})
function legacyRange(name: string, by: RangeRequest['by'], reverse: boolean, options: string[]): void {
  command(name, -4, (r, a) => {
    const request = parseRangeOptions(a.slice(3), { by, reverse, start: at(a, 1), stop: at(a, 2) }, options)
    return withScores(rangeQuery(r.read(key0(a), 'zset'), request), request.withScores)
  })
}
legacyRange('zrevrange', 'rank', true, ['withscores'])
legacyRange('zrangebyscore', 'score', false, ['withscores', 'limit'])
legacyRange('zrevrangebyscore', 'score', true, ['withscores', 'limit'])
legacyRange('zrangebylex', 'lex', false, ['limit'])
legacyRange('zrevrangebylex', 'lex', true, ['limit'])

function removeRange(name: string, by: RangeRequest['by']): void {
  writeCommand(name, 4, (r, a) => {
    const zset = r.read(key0(a), 'zset')
    const doomed = rangeQuery(zset, {
      by,
      reverse: false,
      start: at(a, 1),
      stop: at(a, 2),
      withScores: false,
    })
    for (const [member] of doomed) zset?.delete(member)
    r.dropIfEmpty(key0(a))
    return doomed.length
  })
}
removeRange('zremrangebyrank', 'rank')
removeRange('zremrangebyscore', 'score')
removeRange('zremrangebylex', 'lex')

function popExtreme(name: string, highest: boolean): void {
  writeCommand(name, -2, (r, a) => {
    if (a.length > 2) fail(SYNTAX)
    const count = a[1] === undefined ? 1 : parseInteger(a[1], 'ERR value is out of range, must be positive')
    if (count < 0) fail('ERR value is out of range, must be positive')
    const zset = r.read(key0(a), 'zset')
    const entries = sortedEntries(zset)
    if (highest) entries.reverse()
    const taken = entries.slice(0, count)
    for (const [member] of taken) zset?.delete(member)
    r.dropIfEmpty(key0(a))
    return withScores(taken, true)
  })
}
popExtreme('zpopmin', false)
popExtreme('zpopmax', true)
command('zscan', -3, (r, a) => {
  parseCursor(at(a, 1))
  const { match } = scanOptions(a.slice(2), false)
  const entries = [...(r.read(key0(a), 'zset') ?? [])].filter(([member]) => !match || match.test(member))
  return ['0', withScores(entries, true)]
})

// ---- scripting ----

function scriptArgs(a: string[]): { keys: string[]; argv: string[] } {
  const count = parseInteger(at(a, 1))
  if (count < 0) fail("ERR Number of keys can't be negative")
  if (count > a.length - 2) fail("ERR Number of keys can't be greater than number of args")
  return { keys: a.slice(2, 2 + count), argv: a.slice(2 + count) }
}
for (const readOnly of [false, true]) {
  const suffix = readOnly ? '_ro' : ''
  command(
    `eval${suffix}`,
    -3,
    (r, a) => {
      const { keys, argv } = scriptArgs(a)
      return r.scripts.eval(at(a, 0), keys, argv, readOnly)
    },
    { noScript: true },
  )
  command(
    `evalsha${suffix}`,
    -3,
    (r, a) => {
      const { keys, argv } = scriptArgs(a)
      return r.scripts.evalsha(at(a, 0), keys, argv, readOnly)
    },
    { noScript: true },
  )
}
command(
  'script',
  -2,
  (r, a) => {
    const sub = at(a, 0).toLowerCase()
    if (sub === 'load' && a.length === 2) return r.scripts.load(at(a, 1))
    if (sub === 'exists' && a.length >= 2) return a.slice(1).map((sha) => (r.scripts.exists(sha) ? 1 : 0))
    if (sub === 'flush' && a.length <= 2) return (r.scripts.flush(), OK)
    if (['load', 'exists', 'flush'].includes(sub))
      fail(`ERR wrong number of arguments for 'script|${sub}' command`)
    return fail(`ERR unknown subcommand '${at(a, 0)}'. Try SCRIPT HELP.`)
  },
  { noScript: true },
)
for (const name of ['multi', 'exec', 'discard', 'watch', 'unwatch']) {
  command(
    name,
    -1,
    () => fail(`ERR ${name.toUpperCase()} is only available through multi([...]).exec() here`),
    {
      noScript: true,
    },
  )
}
