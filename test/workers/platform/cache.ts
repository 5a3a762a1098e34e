import { env } from 'cloudflare:test'
import { describe, expect, it, vi } from 'vitest'
import type { Env } from '../../../src/env'
import { fixedClock } from '../../../src/lib/clock'
import { createServices } from '../../../src/services'
import { cacheKey, cached, invalidate, storeCached } from '../../../src/services/platform/cache'
import { envWith, services } from '../helpers'

const s = services()
/** Unique per call: Redis is shared by test files running in parallel. */
const unique = (name: string) => `test-${name}-${crypto.randomUUID().slice(0, 8)}`

describe('cacheKey', () => {
  it('is the route plus its parameters, sorted, undefined ones left out', () => {
    expect(cacheKey('GET /api/v1/tiers', { page: 2, itemsPerPage: 10, q: undefined })).toBe(
      'GET /api/v1/tiers?itemsPerPage=10&page=2',
    )
    expect(cacheKey('GET /api/v1/tiers', { itemsPerPage: 10, page: 2 })).toBe(
      cacheKey('GET /api/v1/tiers', { page: 2, itemsPerPage: 10 }),
    )
    expect(cacheKey('GET /x', { name: 'a&b=c' })).toBe('GET /x?name=a%26b%3Dc')
    expect(cacheKey('GET /health')).toBe('GET /health')
  })
})

describe('read-through', () => {
  it('loads on a miss, serves the stored value on a hit', async () => {
    const key = unique('hit')
    const load = vi.fn(async () => ({ n: 1, at: 'first' }))
    expect(await cached(s, { key, ttlSeconds: 60 }, load)).toEqual({ n: 1, at: 'first' })
    const second = vi.fn(async () => ({ n: 2, at: 'second' }))
    expect(await cached(s, { key, ttlSeconds: 60 }, second)).toEqual({ n: 1, at: 'first' })
    expect(load).toHaveBeenCalledOnce()
    expect(second).not.toHaveBeenCalled()
    const ttl = await s.redis.pttl(`cache:item:${key}`)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })

  it('expires after ttlSeconds by the services clock', async () => {
    const clock = fixedClock(new Date('2026-03-01T12:00:00Z'))
    const timed = createServices(env as Env, { clock })
    const key = unique('ttl')
    let version = 0
    const load = vi.fn(async () => ++version)
    expect(await cached(timed, { key, ttlSeconds: 30 }, load)).toBe(1)
    clock.advance(29_000)
    expect(await cached(timed, { key, ttlSeconds: 30 }, load)).toBe(1)
    clock.advance(1_000)
    expect(await cached(timed, { key, ttlSeconds: 30 }, load)).toBe(2)
    expect(load).toHaveBeenCalledTimes(2)
  })

  it('does not cache a failed load', async () => {
    const key = unique('error')
    await expect(
      cached(s, { key, ttlSeconds: 60 }, async () => {
        throw new Error('database unavailable')
      }),
    ).rejects.toThrow('database unavailable')
    const started = Date.now()
    expect(await cached(s, { key, ttlSeconds: 60 }, async () => 'recovered')).toBe('recovered')
    // The failed loader released its lock, so the next caller did not wait it out.
    expect(Date.now() - started).toBeLessThan(1000)
  })
})

/**
 * A tiny resource with item and list reads through the cache, keyed as the boilerplate keyed
 * its posts (route + page parameters) — the shape whose list invalidation never matched.
 */
function resource(tag: string) {
  const rows = new Map<string, { id: string; name: string }>()
  const loads = { item: 0, list: 0 }
  const itemKey = (id: string) => cacheKey(`GET /${tag}/{id}`, { id })
  const listKey = (page: number, itemsPerPage: number) => cacheKey(`GET /${tag}`, { page, itemsPerPage })
  return {
    loads,
    item: (id: string) =>
      cached(s, { key: itemKey(id), ttlSeconds: 300, tags: [tag] }, async () => {
        loads.item++
        return rows.get(id) ?? null
      }),
    list: (page = 1, itemsPerPage = 10) =>
      cached(s, { key: listKey(page, itemsPerPage), ttlSeconds: 300, tags: [tag] }, async () => {
        loads.list++
        return [...rows.values()]
          .sort((a, b) => a.id.localeCompare(b.id))
          .slice((page - 1) * itemsPerPage, page * itemsPerPage)
      }),
    async create(id: string, name: string) {
      rows.set(id, { id, name })
      await invalidate(s, { keys: [itemKey(id)], tags: [tag] })
    },
    async update(id: string, name: string) {
      rows.set(id, { id, name })
      await invalidate(s, { keys: [itemKey(id)], tags: [tag] })
    },
    async remove(id: string) {
      rows.delete(id)
      await invalidate(s, { keys: [itemKey(id)], tags: [tag] })
    },
  }
}

describe('invalidation of the item and every list that contains it', () => {
  it('shows a create, an update and a delete on the item and on every cached page', async () => {
    const r = resource(unique('posts'))
    await r.create('a', 'Alpha')
    await r.create('b', 'Beta')
    // Warm the item and two differently-parameterised list pages.
    expect(await r.item('c')).toBeNull()
    expect(await r.list(1, 10)).toHaveLength(2)
    expect(await r.list(1, 1)).toEqual([{ id: 'a', name: 'Alpha' }])
    expect(await r.list(2, 1)).toEqual([{ id: 'b', name: 'Beta' }])
    const warm = { ...r.loads }
    expect(await r.list(1, 10)).toHaveLength(2)
    expect(r.loads).toEqual(warm) // served from the cache

    await r.create('c', 'Gamma')
    expect(await r.item('c')).toEqual({ id: 'c', name: 'Gamma' }) // a cached "not found" is gone too
    expect((await r.list(1, 10)).map((p) => p.id)).toEqual(['a', 'b', 'c'])

    await r.update('b', 'Beta 2')
    expect(await r.item('b')).toEqual({ id: 'b', name: 'Beta 2' })
    expect(await r.list(1, 10)).toContainEqual({ id: 'b', name: 'Beta 2' })
    expect(await r.list(2, 1)).toEqual([{ id: 'b', name: 'Beta 2' }])

    await r.remove('a')
    expect(await r.item('a')).toBeNull()
    // The boilerplate deleted `{u}_posts:{u}` while its lists lived at `{u}_posts:page_1:…`, so
    // this page kept showing the deleted post.
    expect(await r.list(1, 1)).toEqual([{ id: 'b', name: 'Beta 2' }])
    expect((await r.list(1, 10)).map((p) => p.id)).toEqual(['b', 'c'])
  })

  it('leaves other tags alone', async () => {
    const tier = unique('tiers')
    const other = unique('other')
    const loadOther = vi.fn(async () => 'other value')
    await cached(s, { key: unique('k'), ttlSeconds: 60, tags: [tier] }, async () => 'x')
    const otherKey = unique('k2')
    await cached(s, { key: otherKey, ttlSeconds: 60, tags: [other] }, loadOther)
    await invalidate(s, { tags: [tier] })
    await cached(s, { key: otherKey, ttlSeconds: 60, tags: [other] }, loadOther)
    expect(loadOther).toHaveBeenCalledOnce()
  })

  it('never serves a value loaded before an invalidation that happened during the load', async () => {
    const tag = unique('race')
    const key = unique('race-key')
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const slow = cached(s, { key, ttlSeconds: 60, tags: [tag] }, async () => {
      await gate
      return 'stale'
    })
    // The write happens while the slow loader holds its (old) snapshot.
    await new Promise((resolve) => setTimeout(resolve, 20))
    await invalidate(s, { tags: [tag] })
    release()
    expect(await slow).toBe('stale') // its own caller gets what it loaded …
    // … but the entry it stored carries the old tag version, so nobody else is served it.
    expect(await cached(s, { key, ttlSeconds: 60, tags: [tag] }, async () => 'fresh')).toBe('fresh')
  })

  it('survives an evicted tag version: old entries do not match the new one', async () => {
    const tag = unique('evicted')
    const key = unique('evicted-key')
    await cached(s, { key, ttlSeconds: 60, tags: [tag] }, async () => 'old')
    await invalidate(s, { tags: [tag] })
    await s.redis.del(`cache:tag:${tag}`)
    expect(await cached(s, { key, ttlSeconds: 60, tags: [tag] }, async () => 'new')).toBe('new')
  })
})

describe('thundering herd on a cold key', () => {
  it('loads once for N concurrent callers in one isolate', async () => {
    const key = unique('herd')
    const load = vi.fn(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50))
      return { value: 42 }
    })
    const results = await Promise.all(
      Array.from({ length: 20 }, () => cached(s, { key, ttlSeconds: 60, tags: ['herd'] }, load)),
    )
    expect(load).toHaveBeenCalledOnce()
    expect(results.every((r) => r.value === 42)).toBe(true)
  })

  it('waits for the lock holder in another isolate and takes its value instead of loading', async () => {
    const key = unique('locked')
    // Another isolate took the lock and is loading.
    expect(await s.redis.set(`cache:lock:${key}`, '1', { nx: true, px: 2000 })).toBe('OK')
    const load = vi.fn(async () => 'loaded here')
    const waiting = cached(s, { key, ttlSeconds: 60 }, load)
    await new Promise((resolve) => setTimeout(resolve, 100))
    // … and publishes its value.
    expect(await storeCached(s, { key, ttlSeconds: 60 }, 'loaded elsewhere')).toBe(true)
    expect(await waiting).toBe('loaded elsewhere')
    expect(load).not.toHaveBeenCalled()
  })

  it('loads itself when the lock holder never delivers, after at most lockMs', async () => {
    const key = unique('abandoned')
    await s.redis.set(`cache:lock:${key}`, '1', { nx: true, px: 300 })
    const load = vi.fn(async () => 'loaded after waiting')
    const started = Date.now()
    expect(await cached(s, { key, ttlSeconds: 60, lockMs: 300 }, load)).toBe('loaded after waiting')
    expect(load).toHaveBeenCalledOnce()
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
  })
})

describe('Redis down', () => {
  const down = createServices(envWith({ UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:1' }))

  it('bypasses the cache: every read loads, invalidation does not throw', async () => {
    const key = unique('down')
    const load = vi.fn(async () => ({ ok: true }))
    expect(await cached(down, { key, ttlSeconds: 60, tags: ['t'] }, load)).toEqual({ ok: true })
    expect(await cached(down, { key, ttlSeconds: 60, tags: ['t'] }, load)).toEqual({ ok: true })
    expect(load).toHaveBeenCalledTimes(2)
    await expect(invalidate(down, { keys: [key], tags: ['t'] })).resolves.toBeUndefined()
    expect(await storeCached(down, { key, ttlSeconds: 60 }, 'x')).toBe(false)
  })
})
