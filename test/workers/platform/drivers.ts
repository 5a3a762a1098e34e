import { Ratelimit } from '@upstash/ratelimit'
import { eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { jobs } from '../../../src/db/schema'
import { services } from '../helpers'

const s = services()

describe('PostgreSQL through the Neon driver', () => {
  it('runs statements over HTTP with correct types', async () => {
    const { rows } = await s.database.db.execute(
      sql`select 1::int as one, 'x'::text as t, '{1.5,2}'::real[] as v, '{"a":[1]}'::jsonb as j, null as n`,
    )
    expect(rows[0]).toEqual({ one: 1, t: 'x', v: [1.5, 2], j: { a: [1] }, n: null })
    const [job] = await s.database.db.insert(jobs).values({ type: 'test.types' }).returning()
    expect(job!.createdAt).toBeInstanceOf(Date)
    expect(Math.abs(job!.createdAt.getTime() - Date.now())).toBeLessThan(60_000)
  })

  it('commits an interactive transaction over WebSocket', async () => {
    const id = await s.database.transaction(async (tx) => {
      const [row] = await tx.insert(jobs).values({ type: 'test.tx' }).returning({ id: jobs.id })
      await tx.update(jobs).set({ attempts: 2 }).where(eq(jobs.id, row!.id))
      return row!.id
    })
    const [row] = await s.database.db.select().from(jobs).where(eq(jobs.id, id))
    expect(row?.attempts).toBe(2)
  })

  it('rolls the whole transaction back when it throws', async () => {
    const marker = `test.rollback.${crypto.randomUUID()}`
    await expect(
      s.database.transaction(async (tx) => {
        await tx.insert(jobs).values({ type: marker })
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    const rows = await s.database.db.select().from(jobs).where(eq(jobs.type, marker))
    expect(rows).toHaveLength(0)
  })

  it('surfaces Postgres error codes', async () => {
    await expect(
      s.database.db.execute(sql`insert into jobs (type, attempts) values ('x', -1)`),
    ).rejects.toMatchObject({
      cause: expect.objectContaining({ code: '23514' }),
    })
  })
})

describe('Redis through the Upstash REST client', () => {
  it('round-trips values, including the string "test"', async () => {
    const key = `test:${crypto.randomUUID()}`
    await s.redis.set(key, 'test', { ex: 60 })
    expect(await s.redis.get(key)).toBe('test')
    await s.redis.set(key, { nested: [1, 'two'] })
    expect(await s.redis.get(key)).toEqual({ nested: [1, 'two'] })
    const p = s.redis.pipeline()
    p.incr(`${key}:n`)
    p.incr(`${key}:n`)
    expect(await p.exec()).toEqual([1, 2])
    await s.redis.del(key, `${key}:n`)
  })

  it.each([
    ['fixed window', Ratelimit.fixedWindow(3, '10 s')],
    ['sliding window', Ratelimit.slidingWindow(3, '10 s')],
  ])('runs @upstash/ratelimit %s scripts', async (_name, limiter) => {
    const rl = new Ratelimit({ redis: s.redis, limiter, prefix: `test:rl:${crypto.randomUUID()}` })
    const results = []
    for (let i = 0; i < 4; i++) results.push(await rl.limit('ip:203.0.113.1'))
    expect(results.map((r) => r.success)).toEqual([true, true, true, false])
    expect(results[0]!.remaining).toBe(2)
    expect(results[3]!.reset).toBeGreaterThan(Date.now())
  })
})
