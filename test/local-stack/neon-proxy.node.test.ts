/**
 * The local Neon stand-in, exercised with the real `@neondatabase/serverless` driver (and drizzle on top of it)
 * from Node against a throwaway database on the local Postgres.
 *
 * Test order matters in one place: drizzle's neon-http driver replaces the driver's *global* type parsers for
 * timestamps, dates and intervals when it is constructed, so the type checks on raw `neon()` run before it.
 */
import { randomBytes } from 'node:crypto'
import {
  Client as NeonClient,
  NeonDbError,
  Pool as NeonPool,
  neon,
  neonConfig,
} from '@neondatabase/serverless'
import { eq } from 'drizzle-orm'
import { drizzle as drizzleHttp } from 'drizzle-orm/neon-http'
import { drizzle as drizzleServerless } from 'drizzle-orm/neon-serverless'
import { integer, pgTable, serial, text } from 'drizzle-orm/pg-core'
import pg from 'pg'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNeonProxy, type NeonProxy } from '../../scripts/local-stack/neon-proxy'

const adminUrl = 'postgresql://postgres@127.0.0.1:5432/postgres'
const databaseName = `rapport_neonproxy_${randomBytes(6).toString('hex')}`
const databaseUrl = `postgresql://postgres@127.0.0.1:5432/${databaseName}`

const items = pgTable('items', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
  qty: integer('qty').notNull().default(0),
})

let proxy: NeonProxy

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>, url = adminUrl): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** Polls until `check` holds; for effects that land asynchronously on the server (backend exit). */
async function eventually(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function backendsNamed(applicationName: string): Promise<number> {
  return withAdmin(async (admin) => {
    const { rows } = await admin.query<{ n: number }>(
      'select count(*)::int as n from pg_stat_activity where application_name = $1',
      [applicationName],
    )
    return rows[0]?.n ?? -1
  })
}

/** Posts to /sql the way the driver does, for checks on the raw wire format. */
async function postSql(body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`http://127.0.0.1:${proxy.port}/sql`, {
    method: 'POST',
    headers: {
      'Neon-Connection-String': databaseUrl,
      'Neon-Raw-Text-Output': 'true',
      'Neon-Array-Mode': 'true',
      ...headers,
    },
    body: JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, text, json: JSON.parse(text) as any }
}

/** Opens a raw WebSocket to the tunnel and reports the HTTP status of a refused upgrade (or 101). */
function upgradeStatus(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${proxy.port}/v1?address=${address}`)
    socket.on('open', () => {
      socket.close()
      resolve(101)
    })
    socket.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      socket.terminate()
    })
    socket.on('error', (err) => reject(err))
  })
}

beforeAll(async () => {
  await withAdmin((admin) => admin.query(`create database "${databaseName}"`))
  await withAdmin(
    (client) =>
      client.query(`create table items (
        id serial primary key,
        name text not null unique,
        qty integer not null default 0
      )`),
    databaseUrl,
  )
  proxy = await startNeonProxy()
  const port = proxy.port
  neonConfig.webSocketConstructor = WebSocket
  neonConfig.wsProxy = (host, dbPort) => `127.0.0.1:${port}/v1?address=${host}:${dbPort}`
  neonConfig.useSecureWebSocket = false
  neonConfig.pipelineTLS = false
  neonConfig.pipelineConnect = false
  neonConfig.coalesceWrites = false
  neonConfig.fetchEndpoint = () => `http://127.0.0.1:${port}/sql`
})

afterAll(async () => {
  await proxy?.close()
  await withAdmin((admin) => admin.query(`drop database if exists "${databaseName}" with (force)`))
})

describe('WebSocket tunnel', () => {
  it('carries Pool queries and an interactive transaction that rolls back', async () => {
    const pool = new NeonPool({ connectionString: databaseUrl })
    pool.on('error', () => {})
    try {
      const { rows } = await pool.query<{ two: number }>('select 1 + 1 as two')
      expect(rows).toEqual([{ two: 2 }])

      const client = await pool.connect()
      client.on('error', () => {})
      try {
        await client.query('begin')
        await client.query('insert into items (name) values ($1)', ['tunnel-rolled-back'])
        const inside = await client.query<{ n: number }>(
          "select count(*)::int as n from items where name = 'tunnel-rolled-back'",
        )
        expect(inside.rows[0]?.n).toBe(1)
        await client.query('rollback')
      } finally {
        client.release()
      }
      const after = await pool.query<{ n: number }>(
        "select count(*)::int as n from items where name = 'tunnel-rolled-back'",
      )
      expect(after.rows[0]?.n).toBe(0)
    } finally {
      await pool.end()
    }
  })

  it('commits an interactive transaction', async () => {
    const pool = new NeonPool({ connectionString: databaseUrl })
    pool.on('error', () => {})
    try {
      const client = await pool.connect()
      client.on('error', () => {})
      try {
        await client.query('begin')
        await client.query('insert into items (name, qty) values ($1, $2)', ['tunnel-committed', 3])
        await client.query('commit')
      } finally {
        client.release()
      }
      const { rows } = await withAdmin(
        (admin) => admin.query<{ qty: number }>("select qty from items where name = 'tunnel-committed'"),
        databaseUrl,
      )
      expect(rows).toEqual([{ qty: 3 }])
    } finally {
      await pool.end()
    }
  })

  it('connects and ends a Client, closing the server-side connection', async () => {
    const applicationName = `neonproxy_client_${randomBytes(4).toString('hex')}`
    const client = new NeonClient(`${databaseUrl}?application_name=${applicationName}`)
    client.on('error', () => {})
    await client.connect()
    const { rows } = await client.query<{ db: string }>('select current_database() as db')
    expect(rows).toEqual([{ db: databaseName }])
    expect(await backendsNamed(applicationName)).toBe(1)
    await client.end()
    await eventually(async () => (await backendsNamed(applicationName)) === 0)
  })

  it('closes the WebSocket when Postgres drops the connection', async () => {
    const client = new NeonClient(databaseUrl)
    client.on('error', () => {})
    await client.connect()
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()))
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
    await withAdmin((admin) => admin.query('select pg_terminate_backend($1)', [rows[0]?.pid]))
    await ended
    await expect(client.query('select 1')).rejects.toThrow()
  })

  it('refuses targets outside the allow-list before connecting', async () => {
    expect(await upgradeStatus('127.0.0.1:5432')).toBe(101)
    expect(await upgradeStatus('127.0.0.1:22')).toBe(403)
    expect(await upgradeStatus('127.0.0.2:5432')).toBe(403)
    expect(await upgradeStatus('not-a-target')).toBe(400)

    // Through the driver: a connection string naming another host fails to connect.
    const client = new NeonClient('postgresql://postgres@127.0.0.2:5432/postgres')
    client.on('error', () => {})
    await expect(client.connect()).rejects.toBeDefined()
  })

  it('applies a custom allow-list and rejects malformed entries', async () => {
    const strict = await startNeonProxy({ allowedTargets: ['127.0.0.1:5432'] })
    try {
      const status = (address: string) =>
        new Promise<number>((resolve, reject) => {
          const socket = new WebSocket(`ws://127.0.0.1:${strict.port}/v1?address=${address}`)
          socket.on('open', () => {
            socket.close()
            resolve(101)
          })
          socket.on('unexpected-response', (_req, res) => {
            resolve(res.statusCode ?? 0)
            socket.terminate()
          })
          socket.on('error', reject)
        })
      expect(await status('127.0.0.1:5432')).toBe(101)
      expect(await status('localhost:5432')).toBe(403)
    } finally {
      await strict.close()
    }
    await expect(startNeonProxy({ allowedTargets: ['no-port'] })).rejects.toThrow(/invalid allowedTargets/)
  })

  it('closes the WebSocket with 1011 when an allowed target is unreachable', async () => {
    // Port 1 on loopback: allowed here on purpose, and nothing listens there.
    const unreachable = await startNeonProxy({ allowedTargets: ['127.0.0.1:1'] })
    try {
      const closed = await new Promise<{ code: number; reason: string }>((resolve, reject) => {
        const socket = new WebSocket(`ws://127.0.0.1:${unreachable.port}/v1?address=127.0.0.1:1`)
        socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
        socket.on('error', reject)
      })
      expect(closed).toEqual({ code: 1011, reason: 'ECONNREFUSED' })
    } finally {
      await unreachable.close()
    }
  })
})

describe('HTTP /sql endpoint', () => {
  it('runs a parameterised select through neon()', async () => {
    const sql = neon(databaseUrl)
    const rows = await sql`select ${41}::int + 1 as answer, ${"it's"}::text as quoted`
    expect(rows).toEqual([{ answer: 42, quoted: "it's" }])
  })

  it('returns every type in a form the driver parses like Neon', async () => {
    const sql = neon(databaseUrl)
    const at = new Date('2024-05-06T07:08:09.123Z')
    const [row] = await sql`
      select 7::int as int,
             9007199254740993::bigint as big,
             12.340::numeric as num,
             true as yes,
             ${at}::timestamptz as at,
             '{"a": [1, "b"], "n": null}'::jsonb as doc,
             array[1, 2, 3]::int[] as ints,
             array['a b', null, 'c"d']::text[] as texts,
             array[1.5, -2.25]::real[] as reals,
             ${Buffer.from([0, 1, 255])}::bytea as bytes,
             null::text as nothing`
    expect(row).toEqual({
      int: 7,
      big: '9007199254740993',
      num: '12.340',
      yes: true,
      at,
      doc: { a: [1, 'b'], n: null },
      ints: [1, 2, 3],
      texts: ['a b', null, 'c"d'],
      reals: [1.5, -2.25],
      bytes: Buffer.from([0, 1, 255]),
      nothing: null,
    })
  })

  it('returns full results with field metadata', async () => {
    const sql = neon(databaseUrl, { fullResults: true })
    const inserted = await sql`insert into items (name, qty) values ('full-a', 1), ('full-b', 2)`
    expect(inserted.command).toBe('INSERT')
    expect(inserted.rowCount).toBe(2)

    const result = await sql`select name, qty from items where name like 'full-%' order by name`
    expect(result.command).toBe('SELECT')
    expect(result.rowCount).toBe(2)
    expect(result.rows).toEqual([
      { name: 'full-a', qty: 1 },
      { name: 'full-b', qty: 2 },
    ])
    expect(result.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ['name', 25],
      ['qty', 23],
    ])
    expect(result.fields[0]?.tableID).toBeGreaterThan(0)
    expect(result.fields[1]?.columnID).toBe(3)
  })

  it('returns rows as arrays in arrayMode', async () => {
    const sql = neon(databaseUrl, { arrayMode: true })
    expect(await sql`select 1 as a, 'x' as b union all select 2, 'y' order by 1`).toEqual([
      [1, 'x'],
      [2, 'y'],
    ])
    const plain = neon(databaseUrl)
    expect(await plain.query('select $1::int as n', [5], { arrayMode: true })).toEqual([[5]])
  })

  it('commits a transaction batch atomically with the requested settings', async () => {
    const sql = neon(databaseUrl)
    const [, , count] = await sql.transaction([
      sql`insert into items (name) values ('batch-a')`,
      sql`insert into items (name) values ('batch-b')`,
      sql`select count(*)::int as n from items where name like 'batch-%'`,
    ])
    expect(count).toEqual([{ n: 2 }])

    const [settings] = await sql.transaction(
      [
        sql`select current_setting('transaction_isolation') as iso, current_setting('transaction_read_only') as ro`,
      ],
      { isolationLevel: 'Serializable', readOnly: true },
    )
    expect(settings).toEqual([{ iso: 'serializable', ro: 'on' }])

    await expect(
      sql.transaction([sql`insert into items (name) values ('read-only')`], { readOnly: true }),
    ).rejects.toMatchObject({ code: '25006' })
  })

  it('rolls a transaction batch back entirely when one statement fails', async () => {
    const sql = neon(databaseUrl)
    await sql`insert into items (name) values ('rollback-existing')`
    const failure = sql.transaction([
      sql`insert into items (name) values ('rollback-new')`,
      sql`insert into items (name) values ('rollback-existing')`,
    ])
    await expect(failure).rejects.toBeInstanceOf(NeonDbError)
    await expect(failure).rejects.toMatchObject({ code: '23505' })
    expect(await sql`select name from items where name like 'rollback-%'`).toEqual([
      { name: 'rollback-existing' },
    ])
  })

  it('raises NeonDbError with the Postgres error fields', async () => {
    const sql = neon(databaseUrl)
    await sql`insert into items (name) values ('dupe')`
    const error = await sql`insert into items (name) values ('dupe')`.catch((err: unknown) => err)
    expect(error).toBeInstanceOf(NeonDbError)
    expect(error).toMatchObject({
      code: '23505',
      severity: 'ERROR',
      constraint: 'items_name_key',
      table: 'items',
      schema: 'public',
      detail: 'Key (name)=(dupe) already exists.',
    })

    const syntax = await sql.query('select 1 frm items').catch((err: unknown) => err)
    expect(syntax).toMatchObject({ code: '42601', position: '14' })
  })

  it('rejects several statements in one query, as Neon does', async () => {
    const sql = neon(databaseUrl)
    await expect(sql.query('select 1; select 2')).rejects.toMatchObject({ code: '42601' })
  })

  it('speaks the wire format of Neon: fields, raw text rows, command, rowCount', async () => {
    const { status, headers, json } = await postSql({
      query: 'select $1::int as n, $2::text as t',
      params: ['1', null],
    })
    expect(status).toBe(200)
    expect(headers.get('content-type')).toBe('application/json')
    expect(json).toEqual({
      rowAsArray: true,
      fields: [
        {
          name: 'n',
          dataTypeID: 23,
          tableID: 0,
          columnID: 0,
          dataTypeSize: 4,
          dataTypeModifier: -1,
          format: 'text',
        },
        {
          name: 't',
          dataTypeID: 25,
          tableID: 0,
          columnID: 0,
          dataTypeSize: -1,
          dataTypeModifier: -1,
          format: 'text',
        },
      ],
      rows: [['1', null]],
      command: 'SELECT',
      rowCount: 1,
    })

    const batch = await postSql(
      { queries: [{ query: 'select 1 as a' }, { query: 'select 2 as b', arrayMode: false }] },
      { 'Neon-Batch-Isolation-Level': 'RepeatableRead', 'Neon-Batch-Read-Only': 'true' },
    )
    expect(batch.status).toBe(200)
    expect(batch.headers.get('neon-batch-isolation-level')).toBe('RepeatableRead')
    expect(batch.headers.get('neon-batch-read-only')).toBe('true')
    expect(batch.json.results.map((r: { rows: unknown }) => r.rows)).toEqual([[['1']], [{ b: '2' }]])
  })

  it('converts values to JSON when raw text output is off', async () => {
    const { json, text } = await postSql(
      {
        query: `select 1::int2 as i, 2.5::float8 as f, 'NaN'::float4 as nan, true as b, 10::bigint as big,
                       '{"x": 12345678901234567890}'::jsonb as j, array[array[1,2],array[3,null]] as m,
                       array['a,b', 'NULL']::text[] as t, array[true,false] as bs`,
        params: [],
      },
      { 'Neon-Raw-Text-Output': 'false', 'Neon-Array-Mode': 'false' },
    )
    expect(json.rowAsArray).toBe(false)
    expect(json.rows).toHaveLength(1)
    expect(json.rows[0]).toEqual({
      i: 1,
      f: 2.5,
      nan: 'NaN',
      b: true,
      big: '10',
      j: { x: expect.any(Number) },
      m: [
        [1, 2],
        [3, null],
      ],
      t: ['a,b', 'NULL'],
      bs: [true, false],
    })
    // json/jsonb text is embedded verbatim, so numbers beyond double precision survive for clients that want them.
    expect(text).toContain('"j":{"x": 12345678901234567890}')
  })

  it('answers protocol errors the way Neon does', async () => {
    const badIsolation = await postSql(
      { queries: [{ query: 'select 1' }] },
      { 'Neon-Batch-Isolation-Level': 'Chaos' },
    )
    expect(badIsolation.status).toBe(400)
    expect(badIsolation.json.message).toBe('invalid isolation level')

    const response = await fetch(`http://127.0.0.1:${proxy.port}/sql`, {
      method: 'POST',
      headers: { 'Neon-Connection-String': databaseUrl },
      body: '{not json',
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { message: string }).message).toMatch(
      /could not parse the HTTP request body/,
    )

    const noConnectionString = await fetch(`http://127.0.0.1:${proxy.port}/sql`, {
      method: 'POST',
      body: JSON.stringify({ query: 'select 1' }),
    })
    expect(noConnectionString.status).toBe(400)

    const missingDatabase = neon('postgresql://postgres@127.0.0.1:5432/rapport_neonproxy_missing_db')
    await expect(missingDatabase`select 1`).rejects.toMatchObject({ code: '3D000' })
  })

  it('refuses connection strings naming a target outside the allow-list', async () => {
    const sql = neon('postgresql://postgres@127.0.0.2:5432/postgres')
    const error = await sql`select 1`.catch((err: unknown) => err)
    expect(error).toBeInstanceOf(NeonDbError)
    expect((error as Error).message).toMatch(/127\.0\.0\.2:5432 is not allowed/)
  })
})

describe('drizzle over the stand-in', () => {
  it('inserts and selects with drizzle-orm/neon-http', async () => {
    const db = drizzleHttp({ client: neon(databaseUrl) })
    const [inserted] = await db.insert(items).values({ name: 'drizzle-http', qty: 4 }).returning()
    expect(inserted).toMatchObject({ name: 'drizzle-http', qty: 4 })
    expect(inserted?.id).toEqual(expect.any(Number))
    const found = await db.select().from(items).where(eq(items.name, 'drizzle-http'))
    expect(found).toEqual([inserted])
  })

  it('inserts and selects with drizzle-orm/neon-serverless, including a transaction', async () => {
    const pool = new NeonPool({ connectionString: databaseUrl })
    pool.on('error', () => {})
    try {
      const db = drizzleServerless({ client: pool })
      await db.insert(items).values({ name: 'drizzle-ws', qty: 5 })
      await expect(
        db.transaction(async (tx) => {
          await tx.insert(items).values({ name: 'drizzle-ws-rolled-back' })
          throw new Error('abort')
        }),
      ).rejects.toThrow('abort')
      const found = await db
        .select({ name: items.name, qty: items.qty })
        .from(items)
        .where(eq(items.name, 'drizzle-ws'))
      expect(found).toEqual([{ name: 'drizzle-ws', qty: 5 }])
      const rolledBack = await db.select().from(items).where(eq(items.name, 'drizzle-ws-rolled-back'))
      expect(rolledBack).toEqual([])
    } finally {
      await pool.end()
    }
  })
})

describe('accounting by tag', () => {
  let counted: NeonProxy
  let saved: Pick<typeof neonConfig, 'wsProxy' | 'fetchEndpoint'>

  beforeAll(async () => {
    counted = await startNeonProxy({ exposeStats: true })
    saved = { wsProxy: neonConfig.wsProxy, fetchEndpoint: neonConfig.fetchEndpoint }
  })

  afterAll(async () => {
    neonConfig.wsProxy = saved.wsProxy
    neonConfig.fetchEndpoint = saved.fetchEndpoint
    await counted?.close()
  })

  /** Points the driver at the counting stand-in under `tag`. */
  function useTag(tag: string) {
    const base = `127.0.0.1:${counted.port}/__tag/${tag}`
    neonConfig.wsProxy = (host, dbPort) => `${base}/v1?address=${host}:${dbPort}`
    neonConfig.fetchEndpoint = () => `http://${base}/sql`
  }

  async function statsOf(tag: string) {
    const response = await fetch(`http://127.0.0.1:${counted.port}/__stats/${tag}`)
    expect(response.status).toBe(200)
    return (await response.json()) as {
      requests: number
      statements: number
      rows: number
      roundTrips: number
      spans: [number, number][]
    }
  }

  it('counts HTTP statements and rows, and requests in flight together as one round trip', async () => {
    useTag('http')
    const sql = neon(databaseUrl)
    await sql`select generate_series(1, 3) as n`
    expect(await statsOf('http')).toMatchObject({ requests: 1, statements: 1, rows: 3, roundTrips: 1 })

    // Both are in flight while the server sleeps: one sequential round trip between them.
    await Promise.all([sql`select pg_sleep(0.05)`, sql`select pg_sleep(0.05)`])
    expect(await statsOf('http')).toMatchObject({ requests: 3, statements: 3, rows: 5, roundTrips: 2 })

    await sql.transaction([sql`select 1`, sql`select 2`, sql`select generate_series(1, 2)`])
    const after = await statsOf('http')
    expect(after).toMatchObject({ requests: 4, statements: 6, rows: 9, roundTrips: 3 })
    expect(after.spans).toHaveLength(4)
    for (const [start, end] of after.spans) expect(end).toBeGreaterThanOrEqual(start)
  })

  it('counts a tunnel: the upgrade, the startup and each query turn, but not the closing Terminate', async () => {
    useTag('tunnel')
    const pool = new NeonPool({ connectionString: databaseUrl, max: 1 })
    pool.on('error', () => {})
    try {
      const db = drizzleServerless({ client: pool })
      await db.transaction(async (tx) => {
        await tx.insert(items).values({ name: 'counted-tunnel' })
        await tx.select().from(items).where(eq(items.name, 'counted-tunnel'))
      })
    } finally {
      await pool.end()
    }
    // upgrade + startup + begin + insert + select + commit; statements: the four the client ran.
    expect(await statsOf('tunnel')).toMatchObject({
      requests: 1,
      statements: 4,
      rows: 1,
      roundTrips: 6,
    })
  })

  it('answers zeros for a tag never used, keeps totals, and serves stats only when asked to', async () => {
    expect(await statsOf('never-used')).toEqual({
      requests: 0,
      statements: 0,
      rows: 0,
      roundTrips: 0,
      spans: [],
    })
    const total = counted.stats()
    expect(total.requests).toBeGreaterThanOrEqual(5)
    expect(total.statements).toBeGreaterThanOrEqual(10)
    expect(counted.stats('http').statements).toBe(6)

    // Without exposeStats the paths are unknown to the stand-in.
    const stats = await fetch(`http://127.0.0.1:${proxy.port}/__stats/http`)
    expect(stats.status).toBe(404)
    const tagged = await fetch(`http://127.0.0.1:${proxy.port}/__tag/x/sql`, { method: 'POST', body: '{}' })
    expect(tagged.status).toBe(404)
  })
})
