/**
 * The embedded stand-ins `npm run dev` starts on a machine with only Node (scripts/embedded): PGlite served over
 * the Postgres wire protocol, and Redis as a spawned redis-server or in-process. Runs in Node, not in workerd.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { Ratelimit } from '@upstash/ratelimit'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  EMBEDDED_POSTGRES_EXTENSIONS,
  type EmbeddedPostgres,
  startEmbeddedPostgres,
} from '../../scripts/embedded/postgres'
import {
  type EmbeddedRedis,
  type RedisLike,
  findOnPath,
  startEmbeddedRedis,
} from '../../scripts/embedded/redis'

const tempRoot = mkdtempSync(path.join(os.tmpdir(), 'rapport-embedded-'))
afterAll(() => rmSync(tempRoot, { recursive: true, force: true }))

function tempDir(name: string): string {
  return path.join(mkdtempSync(path.join(tempRoot, `${name}-`)), 'data')
}

// ---------------------------------------------------------------------------------------------------------------
// Postgres
// ---------------------------------------------------------------------------------------------------------------

/** Minimal frontend for the raw-protocol cases `pg` cannot produce (messages split across TCP segments). */
class RawConnection {
  private readonly socket: net.Socket
  private buffer = Buffer.alloc(0)
  private readonly messages: { type: string; body: Buffer }[] = []
  private wake: (() => void) | undefined

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1')
    this.socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      while (this.buffer.length >= 5) {
        const length = this.buffer.readInt32BE(1)
        if (this.buffer.length < length + 1) break
        this.messages.push({
          type: String.fromCharCode(this.buffer[0]!),
          body: this.buffer.subarray(5, length + 1),
        })
        this.buffer = this.buffer.subarray(length + 1)
      }
      this.wake?.()
    })
  }

  static message(type: string, ...parts: (string | Buffer)[]): Buffer {
    const body = Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)))
    const header = Buffer.alloc(5)
    header.write(type, 0, 'latin1')
    header.writeInt32BE(body.length + 4, 1)
    return Buffer.concat([header, body])
  }

  async startup(): Promise<void> {
    const body = Buffer.from('\0\x03\0\0user\0postgres\0database\0postgres\0\0', 'latin1')
    const length = Buffer.alloc(4)
    length.writeInt32BE(body.length + 4)
    this.socket.write(Buffer.concat([length, body]))
    await this.until('Z')
  }

  write(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages))
  }

  /** Messages up to and including the next one of `type`. */
  async until(type: string): Promise<{ type: string; body: Buffer }[]> {
    for (;;) {
      const index = this.messages.findIndex((m) => m.type === type)
      if (index >= 0) return this.messages.splice(0, index + 1)
      await new Promise<void>((resolve) => (this.wake = resolve))
    }
  }

  close(): void {
    this.socket.destroy()
  }
}

const parse = (sql: string): Buffer => RawConnection.message('P', '\0', sql, '\0', Buffer.from([0, 0]))
function bind(value: string): Buffer {
  const length = Buffer.alloc(4)
  length.writeInt32BE(Buffer.byteLength(value))
  return RawConnection.message('B', '\0\0', Buffer.from([0, 0, 0, 1]), length, value, Buffer.from([0, 0]))
}
const execute = (): Buffer => RawConnection.message('E', '\0', Buffer.alloc(4))
const sync = (): Buffer => RawConnection.message('S')
const dataRows = (messages: { type: string; body: Buffer }[]): string[] =>
  messages.filter((m) => m.type === 'D').map((m) => m.body.subarray(6).toString())

describe('embedded Postgres (PGlite over the wire protocol)', () => {
  const dataDir = tempDir('pglite')
  let server: EmbeddedPostgres
  const clients: pg.Client[] = []

  async function connect(url = server.url): Promise<pg.Client> {
    const client = new pg.Client(url)
    client.on('error', () => {})
    await client.connect()
    clients.push(client)
    return client
  }

  beforeAll(async () => {
    server = await startEmbeddedPostgres({ dataDir, maxConnections: 40 })
  }, 60_000)

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.end()))
    await server?.stop()
  })

  it('accepts the URL it reports and runs plain, parameterised and named prepared queries', async () => {
    expect(server.url).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`)
    const client = await connect()
    const { rows } = await client.query<{ version: string }>('select version()')
    expect(rows[0]?.version).toMatch(/^PostgreSQL 1\d\.\d+ \(PGlite/)
    await client.query('create table people (id serial primary key, name text not null, tags text[])')
    await client.query('insert into people (name, tags) values ($1, $2), ($3, $4)', [
      'Ada',
      ['a'],
      'Bo',
      ['b', 'c'],
    ])
    const named = { name: 'people-by-name', text: 'select id, tags from people where name = $1' }
    expect((await client.query({ ...named, values: ['Bo'] })).rows).toEqual([{ id: 2, tags: ['b', 'c'] }])
    expect((await client.query({ ...named, values: ['Ada'] })).rows).toEqual([{ id: 1, tags: ['a'] }])
    // A password, as the Neon driver always sends one, is accepted (trust authentication).
    const withPassword = await connect(server.url.replace('postgres@', 'postgres:secret@'))
    expect((await withPassword.query('select count(*)::int as n from people')).rows).toEqual([{ n: 2 }])
  })

  it('commits and rolls back transactions, and rolls back one left open by a dropped connection', async () => {
    const client = await connect()
    await client.query('create table ledger (amount int)')
    await client.query('begin')
    await client.query('insert into ledger values (1)')
    await client.query('rollback')
    await client.query('begin')
    await client.query('insert into ledger values (2)')
    await client.query('commit')
    await client.query('begin')
    await expect(client.query('select 1 / 0')).rejects.toThrow('division by zero')
    await expect(client.query('select 1')).rejects.toThrow('current transaction is aborted')
    await client.query('rollback')
    expect((await client.query('select array_agg(amount) as all from ledger')).rows).toEqual([{ all: [2] }])

    const quitter = new pg.Client(server.url)
    quitter.on('error', () => {})
    await quitter.connect()
    await quitter.query('begin')
    await quitter.query('insert into ledger values (3)')
    ;(quitter as unknown as { connection: { stream: net.Socket } }).connection.stream.destroy()
    expect((await client.query('select array_agg(amount) as all from ledger')).rows).toEqual([{ all: [2] }])
  })

  it('serves concurrent clients one at a time; a transaction holds the others until it ends', async () => {
    const pool = await Promise.all(Array.from({ length: 10 }, () => connect()))
    const results = await Promise.all(
      pool.map(async (client, i) => {
        const rows: unknown[] = []
        for (let k = 0; k < 20; k++) {
          rows.push((await client.query('select $1::int as i, $2::text as k', [i, `k${k}`])).rows[0])
        }
        return rows
      }),
    )
    results.forEach((rows, i) =>
      expect(rows).toEqual(Array.from({ length: 20 }, (_, k) => ({ i, k: `k${k}` }))),
    )

    const [holder, waiter] = pool as [pg.Client, pg.Client]
    const order: string[] = []
    await holder.query('begin')
    const waiting = waiter.query('select 1').then(() => order.push('waiter ran'))
    await new Promise((resolve) => setTimeout(resolve, 100))
    order.push('holder commits')
    await holder.query('commit')
    await waiting
    expect(order).toEqual(['holder commits', 'waiter ran'])
  })

  it('keeps an extended-query batch atomic when it arrives in several TCP segments', async () => {
    // What a WebSocket tunnel produces: Parse+Bind in one segment, Execute+Sync later, another client in between.
    const first = new RawConnection(server.port)
    const second = new RawConnection(server.port)
    try {
      await first.startup()
      await second.startup()
      first.write(parse('select $1::text'), bind('from first'))
      await new Promise((resolve) => setTimeout(resolve, 30))
      second.write(parse('select $1::text'), bind('from second'), execute(), sync())
      await new Promise((resolve) => setTimeout(resolve, 30))
      first.write(execute(), sync())
      expect(dataRows(await first.until('Z'))).toEqual(['from first'])
      expect(dataRows(await second.until('Z'))).toEqual(['from second'])
    } finally {
      first.close()
      second.close()
    }
  })

  it('answers pipelined extended-query batches sent in one write, in order', async () => {
    const connection = new RawConnection(server.port)
    try {
      await connection.startup()
      connection.write(
        ...[1, 2, 3].flatMap((n) => [parse('select $1::text'), bind(`query ${n}`), execute(), sync()]),
      )
      const answers: string[] = []
      for (let n = 0; n < 3; n++) answers.push(...dataRows(await connection.until('Z')))
      expect(answers).toEqual(['query 1', 'query 2', 'query 3'])
    } finally {
      connection.close()
    }
  })

  it('gives every connection its own named prepared statements', async () => {
    const [a, b] = await Promise.all([connect(), connect()])
    const query = (client: pg.Client, text: string) =>
      client.query({ name: 'shared-name', text, values: [7] })
    expect((await query(a!, 'select $1::int * 2 as v')).rows).toEqual([{ v: 14 }])
    expect((await query(b!, 'select $1::int * 3 as v')).rows).toEqual([{ v: 21 }])
    expect((await query(a!, 'select $1::int * 2 as v')).rows).toEqual([{ v: 14 }])
  })

  it('offers the contrib extensions Neon, PG 15 and PGlite share', async () => {
    const client = await connect()
    for (const name of Object.keys(EMBEDDED_POSTGRES_EXTENSIONS)) {
      await client.query(`create extension if not exists "${name === 'uuid_ossp' ? 'uuid-ossp' : name}"`)
    }
    const { rows } = await client.query(`select
      similarity('rapport', 'rappor') > 0.5 as trgm,
      'Ada'::citext = 'ADA' as citext,
      round(earth_distance(ll_to_earth(52.52, 13.405), ll_to_earth(48.8566, 2.3522)) / 1000) as km,
      encode(digest('x', 'sha256'), 'hex') as sha,
      uuid_generate_v4()::text ~ '^[0-9a-f-]{36}$' as uuid`)
    expect(rows[0]).toEqual({
      trgm: true,
      citext: true,
      km: 878,
      sha: '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881',
      uuid: true,
    })
    await client.query(
      'create table places (id int, during int4range, exclude using gist (id with =, during with &&))',
    )
    // Not listed, so not loaded: pgvector is not shipped at all, hstore only on request.
    await expect(client.query('create extension vector')).rejects.toThrow(/vector/)
    await expect(client.query('create extension hstore')).rejects.toThrow(/hstore/)
  })

  it('refuses COPY FROM STDIN (which would end the PGlite process) and keeps serving', async () => {
    const client = await connect()
    await client.query('create table copied (v int)')
    await expect(client.query('copy copied from stdin')).rejects.toThrow('COPY FROM STDIN is not supported')
    expect((await client.query('select 1 as alive')).rows).toEqual([{ alive: 1 }])
  })

  it('turns away connections beyond maxConnections with a Postgres error', async () => {
    const extra: Promise<pg.Client>[] = []
    // Earlier tests left 17 connections open; 30 more cross the limit of 40.
    for (let i = 0; i < 30; i++) extra.push(connect())
    const outcomes = await Promise.allSettled(extra)
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')
    expect(refused.length).toBeGreaterThan(0)
    expect(String(refused[0]?.reason)).toContain('too many clients')
    await Promise.all(
      outcomes.map((o) => (o.status === 'fulfilled' ? o.value.end() : undefined)).filter(Boolean),
    )
  })

  it('refuses a second server on the same data directory', async () => {
    await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow('already served by this process')
  })

  it('keeps the data across stop and start', async () => {
    await Promise.allSettled(clients.splice(0).map((client) => client.end()))
    await server.stop()
    server = await startEmbeddedPostgres({ dataDir })
    const client = await connect()
    expect((await client.query('select name from people order by id')).rows).toEqual([
      { name: 'Ada' },
      { name: 'Bo' },
    ])
  }, 30_000)
})

// ---------------------------------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------------------------------

/**
 * What @upstash/ratelimit needs from its Redis client, routed to a RedisLike the way the Upstash REST stand-in
 * does: EVALSHA of the client's hash is unknown (NOSCRIPT), so the library falls back to EVAL with the script,
 * whose `#!lua flags=allow-key-locking` first line is dropped before it reaches Redis.
 */
function ratelimitClient(redis: RedisLike, scripts: Set<string>) {
  const arg = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value))
  return {
    evalsha: () => Promise.reject(new Error('NOSCRIPT No matching script. Please use EVAL.')),
    eval: (script: string, keys: string[], args: unknown[]) => {
      const body = script.startsWith('#!lua flags=allow-key-locking')
        ? script.slice(script.indexOf('\n'))
        : script
      scripts.add(body)
      return redis.call('eval', body, keys.length, ...keys, ...args.map(arg))
    },
    set: (key: string, value: unknown) => redis.call('set', key, arg(value)),
    get: (key: string) => redis.call('get', key),
    del: (key: string) => redis.call('del', key),
  }
}

const redisKinds = [
  { kind: 'redis-server' as const, available: findOnPath('redis-server') !== undefined },
  { kind: 'in-process' as const, available: true },
]

describe.each(redisKinds)('embedded Redis: $kind', ({ kind, available }) => {
  const dataDir = tempDir(`redis-${kind}`)
  let redis: EmbeddedRedis

  beforeAll(async () => {
    if (available) redis = await startEmbeddedRedis({ dataDir, prefer: kind })
  }, 30_000)
  afterAll(async () => {
    await redis?.stop()
  })

  it.skipIf(!available)('starts the requested kind', () => {
    expect(redis.kind).toBe(kind)
    if (redis.kind === 'redis-server') expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`)
    else expect(redis.url).toBeUndefined()
  })

  it.skipIf(!available)('runs string, counter and expiry commands through call', async () => {
    const { client } = redis
    expect(await client.call('set', 'greeting', 'test')).toBe('OK')
    expect(await client.call('get', 'greeting')).toBe('test')
    expect(await client.call('set', 'greeting', 'other', 'NX')).toBeNull()
    expect(await client.call('get', 'missing')).toBeNull()
    expect(await client.call('incr', 'counter')).toBe(1)
    expect(await client.call('incrby', 'counter', 41)).toBe(42)
    expect(await client.call('decr', 'counter')).toBe(41)
    expect(await client.call('incrbyfloat', 'float', '0.1')).toBe('0.1')
    expect(await client.call('incrbyfloat', 'float', '0.2')).toBe('0.3')
    await expect(client.call('incr', 'greeting')).rejects.toThrow(
      'ERR value is not an integer or out of range',
    )
    expect(await client.call('ttl', 'counter')).toBe(-1)
    expect(await client.call('expire', 'counter', 100)).toBe(1)
    expect(await client.call('ttl', 'counter')).toBe(100)
    expect(await client.call('set', 'short', 'v', 'PX', 50)).toBe('OK')
    expect(Number(await client.call('pttl', 'short'))).toBeGreaterThan(0)
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(await client.call('get', 'short')).toBeNull()
    expect(await client.call('ttl', 'short')).toBe(-2)
    expect(await client.call('mset', 'm1', 'a', 'm2', 'b')).toBe('OK')
    expect(await client.call('mget', 'm1', 'nope', 'm2')).toEqual(['a', null, 'b'])
    expect(await client.call('exists', 'm1', 'm2', 'nope')).toBe(2)
    expect(await client.call('del', 'm1', 'm2', 'nope')).toBe(2)
    expect(await client.call('type', 'greeting')).toBe('string')
    await expect(client.call('nosuchcommand', 'x')).rejects.toThrow("ERR unknown command 'nosuchcommand'")
  })

  it.skipIf(!available)('runs hash, list, set and sorted-set commands through call', async () => {
    const { client } = redis
    expect(await client.call('hset', 'h', 'a', '1', 'b', '2')).toBe(2)
    expect(await client.call('hget', 'h', 'a')).toBe('1')
    expect(await client.call('hmget', 'h', 'a', 'x', 'b')).toEqual(['1', null, '2'])
    expect(await client.call('hincrby', 'h', 'a', 5)).toBe(6)
    // ioredis turns HGETALL into an object; the in-process client does the same.
    expect(await client.call('hgetall', 'h')).toEqual({ a: '6', b: '2' })
    expect(await client.call('hdel', 'h', 'a', 'b')).toBe(2)
    expect(await client.call('exists', 'h')).toBe(0)
    await expect(client.call('lpush', 'greeting', 'x')).rejects.toThrow(/^WRONGTYPE/)

    expect(await client.call('rpush', 'l', 'a', 'b', 'c')).toBe(3)
    expect(await client.call('lpush', 'l', 'z')).toBe(4)
    expect(await client.call('lrange', 'l', 0, -1)).toEqual(['z', 'a', 'b', 'c'])
    expect(await client.call('lpop', 'l')).toBe('z')
    expect(await client.call('rpop', 'l', 2)).toEqual(['c', 'b'])
    expect(await client.call('llen', 'l')).toBe(1)

    expect(await client.call('sadd', 's', 'x', 'y', 'x')).toBe(2)
    expect(await client.call('sismember', 's', 'y')).toBe(1)
    expect(((await client.call('smembers', 's')) as string[]).sort()).toEqual(['x', 'y'])
    expect(await client.call('srem', 's', 'x')).toBe(1)
    expect(await client.call('scard', 's')).toBe(1)

    expect(await client.call('zadd', 'z', 1, 'one', 2.5, 'two', 3, 'three')).toBe(3)
    expect(await client.call('zscore', 'z', 'two')).toBe('2.5')
    expect(await client.call('zincrby', 'z', 1, 'one')).toBe('2')
    expect(await client.call('zrange', 'z', 0, -1, 'WITHSCORES')).toEqual([
      'one',
      '2',
      'two',
      '2.5',
      'three',
      '3',
    ])
    expect(await client.call('zrangebyscore', 'z', '(2', '+inf')).toEqual(['two', 'three'])
    expect(await client.call('zrevrange', 'z', 0, 0)).toEqual(['three'])
    expect(await client.call('zrank', 'z', 'three')).toBe(2)
    expect(await client.call('zremrangebyscore', 'z', '-inf', 2)).toBe(1)
    expect(await client.call('zcard', 'z')).toBe(2)
    const [cursor, keys] = (await client.call('scan', 0, 'MATCH', '[lsz]', 'COUNT', 100)) as [
      string,
      string[],
    ]
    expect(cursor).toBe('0')
    expect(keys.sort()).toEqual(['l', 's', 'z'])
  })

  it.skipIf(!available)(
    'runs multi([...]).exec() atomically, with per-command errors and EXECABORT',
    async () => {
      const { client } = redis
      const results = await client
        .multi([
          ['set', 'tx', '1'],
          ['incrby', 'tx', 4],
          ['hget', 'tx', 'field'],
          ['get', 'tx'],
        ])
        .exec()
      expect(results?.map(([error, value]) => (error ? error.message : value))).toEqual([
        'OK',
        5,
        'WRONGTYPE Operation against a key holding the wrong kind of value',
        '5',
      ])
      const aborted = client.multi([['set', 'tx', 'never'], ['set']]).exec()
      await expect(aborted).rejects.toThrow(/^EXECABORT/)
      const reason = await aborted.catch(
        (error: { previousErrors?: Error[] }) => error.previousErrors?.[0]?.message,
      )
      expect(reason).toBe("ERR wrong number of arguments for 'set' command")
      expect(await client.call('get', 'tx')).toBe('5')
    },
  )

  it.skipIf(!available)(
    'runs the @upstash/ratelimit 2.2 scripts through EVAL with their documented results',
    async () => {
      const scripts = new Set<string>()
      const make = (
        limiter: ConstructorParameters<typeof Ratelimit>[0]['limiter'],
        name: string,
        dynamic = false,
      ) =>
        new Ratelimit({
          redis: ratelimitClient(redis.client, scripts) as never,
          limiter,
          prefix: `rl:${name}`,
          analytics: false,
          ephemeralCache: false,
          dynamicLimits: dynamic,
        })
      const run = async (limiter: Ratelimit, times: number) => {
        const out: [boolean, number][] = []
        for (let i = 0; i < times; i++) {
          const result = await limiter.limit('user-1')
          expect(result.reason).toBeUndefined() // not a timeout, not the cache: Redis answered
          out.push([result.success, result.remaining])
        }
        return out
      }
      // Windows of an hour: a test never straddles a window boundary.
      const fixed = make(Ratelimit.fixedWindow(3, '1 h'), 'fixed')
      expect(await run(fixed, 4)).toEqual([
        [true, 2],
        [true, 1],
        [true, 0],
        [false, 0],
      ])
      expect((await fixed.getRemaining('user-1')).remaining).toBe(0)
      await fixed.resetUsedTokens('user-1')
      expect(await run(fixed, 1)).toEqual([[true, 2]])

      const sliding = make(Ratelimit.slidingWindow(3, '1 h'), 'sliding')
      expect(await run(sliding, 4)).toEqual([
        [true, 2],
        [true, 1],
        [true, 0],
        [false, 0],
      ])
      expect((await sliding.getRemaining('user-1')).remaining).toBe(0)

      const bucket = make(Ratelimit.tokenBucket(1, '300 ms', 2), 'bucket')
      expect(await run(bucket, 3)).toEqual([
        [true, 1],
        [true, 0],
        [false, 0],
      ])
      expect((await bucket.getRemaining('user-1')).remaining).toBe(0)
      await new Promise((resolve) => setTimeout(resolve, 350))
      expect(await run(bucket, 1)).toEqual([[true, 0]])

      // Dynamic limits make the scripts read a limit stored in Redis (GET answering a value rather than nil).
      const dynamic = make(Ratelimit.fixedWindow(1, '1 h'), 'dynamic', true)
      await dynamic.setDynamicLimit({ limit: 2 })
      expect(await run(dynamic, 3)).toEqual([
        [true, 1],
        [true, 0],
        [false, 0],
      ])

      // limit + getRemaining of all three algorithms, and the reset script.
      expect(scripts.size).toBe(7)
      expect([...scripts].every((script) => !script.includes('#!lua'))).toBe(true)
    },
  )

  it.skipIf(!available)(
    'answers EVALSHA after SCRIPT LOAD, NOSCRIPT before, and refuses unknown shebang flags',
    async () => {
      const { client } = redis
      const script = 'return {KEYS[1], ARGV[1], redis.call("hmget", KEYS[1], "missing")[1] == false}'
      await expect(client.call('evalsha', 'ffffffffffffffffffffffffffffffffffffffff', 0)).rejects.toThrow(
        /^NOSCRIPT/,
      )
      const sha = await client.call('script', 'load', script)
      expect(await client.call('script', 'exists', String(sha))).toEqual([1])
      expect(await client.call('evalsha', String(sha), 1, 'k', 'v')).toEqual(['k', 'v', 1])
      await expect(client.call('eval', '#!lua flags=allow-key-locking\nreturn 1', 0)).rejects.toThrow(
        'Unexpected flag in script shebang: allow-key-locking',
      )
      await expect(client.call('eval', 'return redis.call("incr", KEYS[1])', 1, 'greeting')).rejects.toThrow(
        /^ERR value is not an integer or out of range script: [0-9a-f]{40}, on @user_script:1\.$/,
      )
    },
  )

  it.skipIf(!available)('keeps the data across stop and start', async () => {
    await redis.client.call('set', 'durable', 'yes')
    await redis.stop()
    redis = await startEmbeddedRedis({ dataDir, prefer: kind })
    expect(redis.kind).toBe(kind)
    expect(await redis.client.call('get', 'durable')).toBe('yes')
  })
})
