/**
 * The Upstash REST stand-in against real Redis on 127.0.0.1:6379, driven by the unmodified @upstash/redis and
 * @upstash/ratelimit clients (and by raw fetch where the wire format itself is the point). Runs in Node.
 * Every key lives under a random prefix and is deleted afterwards.
 */
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis as IORedis } from 'ioredis'
import { Redis, errors } from '@upstash/redis'
import { Ratelimit } from '@upstash/ratelimit'
import { adaptScript, startUpstashRest, type UpstashRestServer } from '../../scripts/local-stack/upstash-rest'

const TOKEN = 'test-token-' + randomBytes(4).toString('hex')
const prefix = `upstash-rest-test:${randomBytes(6).toString('hex')}:`
const k = (name: string): string => prefix + name

// ioredis 6 speaks RESP3 unless told otherwise; the stand-in must give Upstash's shapes over both.
let resp3: IORedis
let resp2: IORedis
let server: UpstashRestServer
let server2: UpstashRestServer
let redis: Redis

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex')

async function rest(
  base: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown; text: string; type: string | null }> {
  const res = await fetch(base + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    // Not JSON (RESP2 bytes): callers look at `text`.
  }
  return { status: res.status, json, text, type: res.headers.get('content-type') }
}

beforeAll(async () => {
  resp3 = new IORedis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 })
  resp2 = new IORedis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, protocol: 2 })
  server = await startUpstashRest({ redis: resp3, token: TOKEN })
  server2 = await startUpstashRest({ redis: resp2, token: TOKEN })
  redis = new Redis({ url: server.url, token: TOKEN, enableTelemetry: false })
})

afterAll(async () => {
  let cursor = '0'
  do {
    const [next, keys] = await resp3.scan(cursor, 'MATCH', prefix + '*', 'COUNT', 1000)
    if (keys.length > 0) await resp3.del(...keys)
    cursor = next
  } while (cursor !== '0')
  await Promise.all([server?.close(), server2?.close()])
  resp3?.disconnect()
  resp2?.disconnect()
})

describe('wire protocol', () => {
  it('answers POST / with {result} and base64-encodes strings only when asked', async () => {
    expect(await rest(server.url, '/', ['SET', k('wire'), 'test'])).toMatchObject({
      status: 200,
      json: { result: 'OK' },
      type: 'application/json',
    })
    expect((await rest(server.url, '/', ['GET', k('wire')])).json).toEqual({ result: 'test' })
    expect((await rest(server.url, '/', ['GET', k('wire')], { 'Upstash-Encoding': 'base64' })).json).toEqual({
      result: Buffer.from('test').toString('base64'),
    })
    // Integers and nulls are never encoded; strings inside arrays are, "OK" included.
    await rest(server.url, '/', ['RPUSH', k('wire-list'), 'OK', 'x'])
    expect(
      (
        await rest(
          server.url,
          '/pipeline',
          [
            ['INCR', k('wire-n')],
            ['GET', k('missing')],
            ['LRANGE', k('wire-list'), '0', '-1'],
          ],
          {
            'Upstash-Encoding': 'base64',
          },
        )
      ).json,
    ).toEqual([{ result: 1 }, { result: null }, { result: ['T0s=', 'eA=='] }])
  })

  it('accepts numbers as arguments, like the client sends them', async () => {
    expect((await rest(server.url, '/', ['SET', k('num-arg'), 12.5, 'EX', 100])).json).toEqual({
      result: 'OK',
    })
    expect((await rest(server.url, '/', ['GET', k('num-arg')])).json).toEqual({ result: '12.5' })
    expect((await rest(server.url, '/', ['TTL', k('num-arg')])).json).toEqual({ result: 100 })
  })

  it('reports Redis errors as HTTP 400 {error}', async () => {
    await rest(server.url, '/', ['SET', k('not-int'), 'abc'])
    expect(await rest(server.url, '/', ['INCR', k('not-int')])).toMatchObject({
      status: 400,
      json: { error: 'ERR value is not an integer or out of range' },
    })
    expect(await rest(server.url, '/', ['NOSUCHCMD', 'a'])).toMatchObject({
      status: 400,
      json: { error: "ERR unknown command 'nosuchcmd', with args beginning with: 'a' " },
    })
  })

  it('rejects malformed bodies and unsupported methods', async () => {
    expect((await rest(server.url, '/', 'not json')).status).toBe(400)
    expect((await rest(server.url, '/', [])).status).toBe(400)
    expect((await rest(server.url, '/', ['SET', k('obj'), { a: 1 }])).status).toBe(400)
    expect((await rest(server.url, '/pipeline', [['PING'], 'GET'])).status).toBe(400)
    const res = await fetch(server.url + '/get/x', {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${TOKEN}` },
    })
    expect(res.status).toBe(405)
    expect(await res.json()).toHaveProperty('error')
  })

  it('requires the bearer token (or _token) and answers 401 {error} otherwise', async () => {
    const none = await fetch(server.url, { method: 'POST', body: JSON.stringify(['PING']) })
    expect(none.status).toBe(401)
    expect(((await none.json()) as { error: string }).error).toMatch(
      /^WRONGPASS invalid or missing auth token/,
    )
    expect((await rest(server.url, '/', ['PING'], { Authorization: 'Bearer wrong' })).status).toBe(401)
    expect((await rest(server.url, '/', ['PING'], { Authorization: TOKEN })).status).toBe(401)
    const query = await fetch(`${server.url}/ping?_token=${TOKEN}`)
    expect(query.status).toBe(200)
    expect(await query.json()).toEqual({ result: 'PONG' })
    // An Authorization header that is wrong is not rescued by a right _token.
    const both = await fetch(`${server.url}/ping?_token=${TOKEN}`, {
      headers: { Authorization: 'Bearer wrong' },
    })
    expect(both.status).toBe(401)
  })

  it('supports the path style, with a raw POST body as the binary-safe last argument', async () => {
    expect((await rest(server.url, `/set/${encodeURIComponent(k('path'))}/a%2Fb%20c`)).json).toEqual({
      result: 'OK',
    })
    expect((await rest(server.url, `/get/${encodeURIComponent(k('path'))}`)).json).toEqual({
      result: 'a/b c',
    })

    const bytes = Buffer.from([0x68, 0x69, 0xff, 0xfe, 0x00, 0xc3, 0xa9])
    const res = await fetch(`${server.url}/set/${encodeURIComponent(k('bin'))}?EX=100`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: bytes,
    })
    expect(await res.json()).toEqual({ result: 'OK' })
    expect(await resp3.getBuffer(k('bin'))).toEqual(bytes)
    expect(await resp3.ttl(k('bin'))).toBe(100)
    // What @upstash/redis makes of non-UTF-8 bytes is its own TextDecoder's reading of them.
    const raw = new Redis({
      url: server.url,
      token: TOKEN,
      automaticDeserialization: false,
      enableTelemetry: false,
    })
    expect(await raw.get(k('bin'))).toBe(new TextDecoder().decode(bytes))
  })

  it('answers RESP2 bytes for Upstash-Response-Format: resp2 and rejects bad combinations', async () => {
    await rest(server.url, '/', ['SET', k('resp2'), 'bar'])
    const single = await rest(server.url, '/', ['GET', k('resp2')], { 'Upstash-Response-Format': 'resp2' })
    expect(single).toMatchObject({ status: 200, text: '$3\r\nbar\r\n', type: 'application/octet-stream' })
    const batch = await rest(
      server.url,
      '/pipeline',
      [
        ['SET', k('resp2'), 'baz'],
        ['INCR', k('resp2')],
        ['MGET', k('resp2'), k('missing')],
      ],
      { 'Upstash-Response-Format': 'resp2' },
    )
    expect(batch.text).toBe(
      '+OK\r\n-ERR value is not an integer or out of range\r\n*2\r\n$3\r\nbaz\r\n$-1\r\n',
    )
    expect((await rest(server.url, '/', ['PING'], { 'Upstash-Response-Format': 'xml' })).status).toBe(400)
    expect(
      (
        await rest(server.url, '/', ['PING'], {
          'Upstash-Response-Format': 'resp2',
          'Upstash-Encoding': 'base64',
        })
      ).status,
    ).toBe(400)
    // /multi-exec always answers JSON.
    expect(
      (await rest(server.url, '/multi-exec', [['PING']], { 'Upstash-Response-Format': 'resp2' })).json,
    ).toEqual([{ result: 'PONG' }])
  })

  it('refuses commands that would hijack or block the shared connection', async () => {
    for (const command of [
      ['BLPOP', k('q'), '0'],
      ['SELECT', '1'],
      ['SUBSCRIBE', 'chan'],
      ['CLIENT', 'REPLY', 'OFF'],
      ['HELLO', '3'],
      ['XREAD', 'BLOCK', '0', 'STREAMS', k('s'), '$'],
    ]) {
      const name = (command[0] as string).toUpperCase()
      expect(await rest(server.url, '/', command)).toMatchObject({
        status: 400,
        json: { error: `ERR Command is not available: '${name}'` },
      })
    }
    // "block" after STREAMS is a key name, not the option.
    expect((await rest(server.url, '/', ['XREAD', 'STREAMS', k('block'), '0'])).json).toEqual({
      result: null,
    })
    // The connection still works, on database 0.
    await rest(server.url, '/', ['SET', k('after-refusal'), 'still here'])
    expect(await resp3.get(k('after-refusal'))).toBe('still here')
  })

  it('accepts and ignores the read-your-writes sync token', async () => {
    expect((await rest(server.url, '/', ['PING'], { 'upstash-sync-token': 'abc' })).json).toEqual({
      result: 'PONG',
    })
  })
})

describe('@upstash/redis against the stand-in', () => {
  it('round-trips "test" and strings that look like base64, numbers or JSON', async () => {
    for (const value of [
      'test',
      'dGVzdA==',
      'OK',
      '',
      'héllo ✓ 日本語 🎉',
      'line\nbreak\ttab "q" \\',
      '{not json',
      '0x1F',
    ]) {
      await redis.set(k('str'), value)
      expect(await redis.get(k('str'))).toBe(value)
    }
  })

  it('round-trips numbers and JSON objects through automatic (de)serialization', async () => {
    await redis.set(k('n'), 42)
    expect(await redis.get(k('n'))).toBe(42)
    await redis.set(k('f'), 3.25)
    expect(await redis.get(k('f'))).toBe(3.25)
    const profile = { name: 'Zoë', age: 31, tags: ['a', 'b'], nested: { ok: true, none: null } }
    await redis.set(k('obj'), profile)
    expect(await redis.get(k('obj'))).toEqual(profile)
    expect(await redis.get(k('never-set'))).toBeNull()
  })

  it('runs del / exists / expire / ttl / incr', async () => {
    await redis.set(k('ttl'), 'v', { ex: 60 })
    expect(await redis.ttl(k('ttl'))).toBeGreaterThan(55)
    expect(await redis.persist(k('ttl'))).toBe(1)
    expect(await redis.ttl(k('ttl'))).toBe(-1)
    expect(await redis.expire(k('ttl'), 5)).toBe(1)
    expect(await redis.pttl(k('ttl'))).toBeGreaterThan(4000)
    expect(await redis.exists(k('ttl'), k('nope'))).toBe(1)
    expect(await redis.del(k('ttl'), k('nope'))).toBe(1)
    expect(await redis.ttl(k('ttl'))).toBe(-2)
    expect(await redis.incr(k('counter'))).toBe(1)
    expect(await redis.incrby(k('counter'), 41)).toBe(42)
  })

  it('throws UpstashError with the Redis message on an error reply', async () => {
    await redis.set(k('word'), 'abc')
    const failure = redis.incr(k('word'))
    await expect(failure).rejects.toBeInstanceOf(errors.UpstashError)
    await expect(redis.incr(k('word'))).rejects.toThrow('ERR value is not an integer or out of range')
    await redis.lpush(k('a-list'), 'x')
    await expect(redis.get(k('a-list'))).rejects.toThrow(
      /WRONGTYPE Operation against a key holding the wrong kind of value/,
    )
  })

  it('throws on a wrong token', async () => {
    const intruder = new Redis({ url: server.url, token: 'wrong', enableTelemetry: false })
    await expect(intruder.get(k('str'))).rejects.toThrow(/WRONGPASS invalid or missing auth token/)
  })

  it('runs hash operations', async () => {
    expect(await redis.hset(k('h'), { name: 'Ann', age: 30, meta: { x: 1 } })).toBe(3)
    expect(await redis.hget(k('h'), 'name')).toBe('Ann')
    expect(await redis.hgetall(k('h'))).toEqual({ name: 'Ann', age: 30, meta: { x: 1 } })
    expect(await redis.hincrby(k('h'), 'age', 2)).toBe(32)
    expect(await redis.hmget(k('h'), 'name', 'missing')).toEqual({ name: 'Ann', missing: null })
    expect(await redis.hdel(k('h'), 'meta')).toBe(1)
    expect((await redis.hkeys(k('h'))).sort()).toEqual(['age', 'name'])
    expect(await redis.hgetall(k('no-hash'))).toBeNull()
  })

  it('runs list, set and sorted-set operations', async () => {
    expect(await redis.rpush(k('l'), 'b', 'c')).toBe(2)
    expect(await redis.lpush(k('l'), 'a')).toBe(3)
    expect(await redis.lrange(k('l'), 0, -1)).toEqual(['a', 'b', 'c'])
    expect(await redis.lpop(k('l'))).toBe('a')
    expect(await redis.llen(k('l'))).toBe(2)

    expect(await redis.sadd(k('s'), 'x', 'y', 'x')).toBe(2)
    expect(await redis.sismember(k('s'), 'y')).toBe(1)
    expect((await redis.smembers(k('s'))).sort()).toEqual(['x', 'y'])

    expect(await redis.zadd(k('z'), { score: 1, member: 'one' }, { score: 2.5, member: 'two' })).toBe(2)
    expect(await redis.zscore(k('z'), 'two')).toBe(2.5)
    expect(await redis.zincrby(k('z'), 2, 'one')).toBe(3)
    expect(await redis.zrange(k('z'), 0, -1)).toEqual(['two', 'one'])
    expect(await redis.zrange(k('z'), 0, -1, { withScores: true })).toEqual(['two', 2.5, 'one', 3])
    expect(await redis.zrank(k('z'), 'one')).toBe(1)
    expect(await redis.zcard(k('z'))).toBe(2)
  })

  it('runs pipelines, with per-command errors kept in place', async () => {
    const results = await redis.pipeline().set(k('p'), 'v').incr(k('pn')).get(k('p')).exec()
    expect(results).toEqual(['OK', 1, 'v'])
    const mixed = await redis.pipeline().incr(k('p')).get(k('p')).exec({ keepErrors: true })
    expect(mixed[0]?.error).toBe('ERR value is not an integer or out of range')
    expect(mixed[1]).toEqual({ error: undefined, result: 'v' })
    await expect(redis.pipeline().incr(k('p')).exec()).rejects.toThrow(
      /Command 1 \[ incr \] failed: ERR value/,
    )
  })

  it('runs transactions atomically through /multi-exec', async () => {
    const results = await redis.multi().set(k('m'), 'x').incr(k('mn')).incr(k('mn')).get(k('m')).exec()
    expect(results).toEqual(['OK', 1, 2, 'x'])
    // A runtime error fails only its own command, as in Redis.
    const mixed = await redis.multi().incr(k('m')).set(k('m2'), 'y').exec({ keepErrors: true })
    expect(mixed[0]?.error).toMatch(/^ERR value is not an integer/)
    expect(mixed[1]?.result).toBe('OK')
  })

  it('discards a whole transaction with an unknown or unavailable command', async () => {
    const unknown = await rest(server.url, '/multi-exec', [
      ['SET', k('tx-discarded'), '1'],
      ['NOSUCHCMD', 'a'],
    ])
    expect(unknown.status).toBe(400)
    expect(unknown.json).toEqual({ error: "ERR unknown command 'nosuchcmd', with args beginning with: 'a' " })
    const watch = await rest(server.url, '/multi-exec', [
      ['SET', k('tx-discarded'), '1'],
      ['WATCH', k('x')],
    ])
    expect(watch).toMatchObject({ status: 400, json: { error: "ERR Command is not available: 'WATCH'" } })
    // ioredis pipeline members must not be reachable as "commands".
    const member = await rest(server.url, '/multi-exec', [['call', 'SET', k('tx-discarded'), '1']])
    expect(member.status).toBe(400)
    const arity = await rest(server.url, '/multi-exec', [['SET', k('tx-discarded'), '1'], ['GET']])
    expect(arity).toMatchObject({
      status: 400,
      json: { error: "ERR wrong number of arguments for 'get' command" },
    })
    expect(await resp3.exists(k('tx-discarded'))).toBe(0)
  })
})

describe('Lua scripts', () => {
  const shebangScript = `#!lua flags=allow-key-locking
  local v = redis.call("INCRBY", KEYS[1], ARGV[1])
  return {v, "done"}
`

  it('drops only the flags Redis 7.0 does not know', () => {
    expect(adaptScript(shebangScript)).toBe(shebangScript.slice(shebangScript.indexOf('\n')))
    expect(adaptScript('#!lua flags=no-writes,allow-key-locking\nreturn 1')).toBe(
      '#!lua flags=no-writes\nreturn 1',
    )
    expect(adaptScript('#!lua flags=no-writes\nreturn 1')).toBe('#!lua flags=no-writes\nreturn 1')
    expect(adaptScript('return 1')).toBe('return 1')
  })

  it('runs EVAL of a script with an Upstash-only shebang flag', async () => {
    expect(await redis.eval(shebangScript, [k('lua')], [5])).toEqual([5, 'done'])
  })

  it('maps the client SHA1 for SCRIPT LOAD, EVALSHA and SCRIPT EXISTS', async () => {
    const script = shebangScript.replace('done', 'loaded')
    const sha = await redis.scriptLoad(script)
    expect(sha).toBe(sha1(script))
    expect(await redis.evalsha(sha, [k('lua-sha')], [2])).toEqual([2, 'loaded'])
    expect(await redis.scriptExists(sha, 'f'.repeat(40))).toEqual([1, 0])
    // Redis holds the adapted text, not the client's.
    expect(await resp3.script('EXISTS', sha1(adaptScript(script)), sha)).toEqual([1, 0])
  })

  it('answers NOSCRIPT like Redis for a SHA it never saw', async () => {
    const unknown = await rest(server.url, '/', ['EVALSHA', sha1('return "never seen"'), '0'])
    expect(unknown).toMatchObject({
      status: 400,
      json: { error: 'NOSCRIPT No matching script. Please use EVAL.' },
    })
  })

  it('forwards EVALSHA of a script without a shebang unchanged', async () => {
    const plain = 'return ARGV[1] .. "!"'
    expect(await redis.eval(plain, [], ['hi'])).toBe('hi!')
    expect(await redis.evalsha(sha1(plain), [], ['yo'])).toBe('yo!')
  })
})

describe('@upstash/ratelimit against the stand-in', () => {
  const now = (): number => Date.now()

  it('slidingWindow allows N then blocks, with sane remaining/reset', async () => {
    const limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(3, '20 s'),
      prefix: k('rl-sliding'),
      ephemeralCache: false,
    })
    const results = []
    for (let i = 0; i < 4; i++) results.push(await limiter.limit('user-1'))
    expect(results.map((r) => r.success)).toEqual([true, true, true, false])
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0])
    for (const r of results) {
      expect(r.limit).toBe(3)
      expect(r.reset).toBeGreaterThan(now())
      expect(r.reset).toBeLessThanOrEqual(now() + 20_000)
    }
    // Another identifier has its own budget.
    expect((await limiter.limit('user-2')).success).toBe(true)
    expect(await limiter.getRemaining('user-1')).toMatchObject({ remaining: 0, limit: 3 })
  })

  it('fixedWindow allows N then blocks, with sane remaining/reset', async () => {
    const limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.fixedWindow(2, '30 s'),
      prefix: k('rl-fixed'),
      ephemeralCache: false,
    })
    const results = []
    for (let i = 0; i < 3; i++) results.push(await limiter.limit('user-1'))
    expect(results.map((r) => r.success)).toEqual([true, true, false])
    expect(results.map((r) => r.remaining)).toEqual([1, 0, 0])
    for (const r of results) {
      expect(r.reset).toBeGreaterThan(now())
      expect(r.reset).toBeLessThanOrEqual(now() + 30_000)
    }
    await limiter.resetUsedTokens('user-1')
    expect((await limiter.limit('user-1')).success).toBe(true)
  })

  it('tokenBucket allows the bucket then blocks', async () => {
    const limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.tokenBucket(1, '60 s', 2),
      prefix: k('rl-bucket'),
      ephemeralCache: false,
    })
    const results = []
    for (let i = 0; i < 3; i++) results.push(await limiter.limit('user-1'))
    expect(results.map((r) => r.success)).toEqual([true, true, false])
    expect(results.map((r) => r.remaining)).toEqual([1, 0, 0])
    expect(results[2]?.reset).toBeGreaterThan(now())
    expect(results[2]?.reset).toBeLessThanOrEqual(now() + 60_000)
  })
})

describe('commandCount', () => {
  it('counts one per Redis command, pipelines and transactions included', async () => {
    server.resetCommandCount()
    expect(server.commandCount()).toBe(0)
    await redis.get(k('cc'))
    expect(server.commandCount()).toBe(1)
    await redis.pipeline().set(k('cc'), 1).incr(k('cc')).get(k('cc')).exec()
    expect(server.commandCount()).toBe(4)
    await redis.multi().incr(k('cc')).incr(k('cc')).exec()
    expect(server.commandCount()).toBe(6)
    // Answered without Redis: refused commands and unknown script SHAs.
    await rest(server.url, '/', ['BLPOP', k('cc-q'), '0'])
    await rest(server.url, '/', ['EVALSHA', sha1('return 0 -- never loaded'), '0'])
    expect(server.commandCount()).toBe(6)
    server.resetCommandCount()
    expect(server.commandCount()).toBe(0)
  })

  it('shows a rate-limit check costs one Redis command, even the first (EVALSHA miss + EVAL)', async () => {
    // A fresh stand-in knows no scripts, so the first EVALSHA is answered NOSCRIPT locally.
    const fresh = await startUpstashRest({ redis: resp3, token: TOKEN })
    try {
      const client = new Redis({ url: fresh.url, token: TOKEN, enableTelemetry: false })
      const limiter = new Ratelimit({
        redis: client,
        limiter: Ratelimit.slidingWindow(10, '10 s'),
        prefix: k('rl-count'),
        ephemeralCache: false,
      })
      for (let i = 0; i < 3; i++) {
        fresh.resetCommandCount()
        expect((await limiter.limit('id')).success).toBe(true)
        expect(fresh.commandCount()).toBe(1)
      }
    } finally {
      await fresh.close()
    }
  })
})

describe('accounting by tag', () => {
  it("counts a tagged client's requests, commands and sequential round trips", async () => {
    const counted = await startUpstashRest({ redis: resp3, token: TOKEN, exposeStats: true })
    try {
      const client = new Redis({ url: `${counted.url}/__tag/rt`, token: TOKEN, enableTelemetry: false })
      await client.get(k('rt'))
      await client.pipeline().set(k('rt'), 1).incr(k('rt')).exec()
      // Sent in the same tick: the client pipelines them into one request, one round trip.
      await Promise.all([client.get(k('rt')), client.get(k('rt'))])
      const stats = (await (await fetch(`${counted.url}/__stats/rt`)).json()) as Record<string, unknown>
      expect(stats).toMatchObject({ requests: 3, commands: 5, roundTrips: 3 })
      expect(counted.stats('rt')).toMatchObject({ requests: 3, commands: 5, roundTrips: 3 })
      // Untagged traffic counts in the total only.
      await redis.get(k('rt'))
      expect(counted.stats().requests).toBe(3)
      await new Redis({ url: counted.url, token: TOKEN, enableTelemetry: false }).get(k('rt'))
      expect(counted.stats()).toMatchObject({ requests: 4, commands: 6, roundTrips: 4 })
      expect(counted.stats('rt').requests).toBe(3)
    } finally {
      await counted.close()
    }
  })
})

describe('reply shapes over RESP3 and RESP2 connections', () => {
  it('answers identical Upstash (RESP2) shapes over both', async () => {
    await resp2.zadd(k('shape-z'), 1, 'a', 2.5, 'b', 3, 'c')
    await resp2.hset(k('shape-h'), 'f1', 'v1', 'f2', 'v2')
    await resp2.xadd(k('shape-x'), '1-1', 'field', 'value')
    const batch = [
      ['ZRANGE', k('shape-z'), '0', '-1', 'WITHSCORES'],
      ['ZRANGEBYSCORE', k('shape-z'), '2', '3', 'WITHSCORES'],
      ['ZSCORE', k('shape-z'), 'b'],
      ['ZMSCORE', k('shape-z'), 'a', 'zz'],
      ['HGETALL', k('shape-h')],
      ['XREAD', 'COUNT', '1', 'STREAMS', k('shape-x'), '0'],
      ['XRANGE', k('shape-x'), '-', '+'],
      ['EVAL', 'return {1, "two", {3, false}}', '0'],
      ['EVAL', 'return redis.call("SISMEMBER", KEYS[1], "x")', '1', k('shape-none')],
      ['CONFIG', 'GET', 'maxmemory'],
      ['SET', k('shape-s'), 'v', 'NX', 'GET'],
    ]
    const expected = [
      { result: ['a', '1', 'b', '2.5', 'c', '3'] },
      { result: ['b', '2.5', 'c', '3'] },
      { result: '2.5' },
      { result: ['1', null] },
      { result: ['f1', 'v1', 'f2', 'v2'] },
      { result: [[k('shape-x'), [['1-1', ['field', 'value']]]]] },
      { result: [['1-1', ['field', 'value']]] },
      { result: [1, 'two', [3, null]] },
      { result: 0 },
      { result: ['maxmemory', expect.any(String)] },
      { result: null },
    ]
    const over3 = await rest(server.url, '/pipeline', batch)
    await resp2.del(k('shape-s'))
    const over2 = await rest(server2.url, '/pipeline', batch)
    expect(over2.json).toEqual(expected)
    expect(over3.json).toEqual(over2.json)
    // The same inside a transaction (ioredis's multi path).
    await resp2.del(k('shape-s'))
    const tx3 = await rest(server.url, '/multi-exec', batch)
    await resp2.del(k('shape-s'))
    const tx2 = await rest(server2.url, '/multi-exec', batch)
    expect(tx2.json).toEqual(expected)
    expect(tx3.json).toEqual(expected)
  })
})
