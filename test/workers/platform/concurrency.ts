import { describe, expect, it } from 'vitest'
import { type Services } from '../../../src/services'
import { forgetTierRules, limitFor } from '../../../src/services/platform/rate-limit-rules'
import { cachedTiers, forgetTiers } from '../../../src/services/accounts/tiers'
import { forgetAccount } from '../../../src/services/accounts/account-cache'
import { cacheKey, cached, invalidate } from '../../../src/services/platform/cache'
import { call, member } from '../fixtures'
import { api, services, taggedRedis, tierWithRules } from '../helpers'

/**
 * Requests handled at the same time by one isolate. Each `api()` call is its own incoming request
 * in workerd, so anything one of them leaves pending in module state (a load in flight, a client
 * batch) and another awaits makes the runtime cancel the waiting request as hung: a text/plain
 * 500 that no error handler sees. Every burst here starts cold, so the requests race for the same
 * per-isolate state.
 */

const s = services()
const tag = () => crypto.randomUUID().replaceAll('-', '').slice(0, 12)

/** Every response of a burst, with the body of any that failed, so a failure says what it was. */
async function burst(requests: (() => Promise<Response>)[]) {
  const responses = await Promise.all(requests.map((r) => r()))
  const failures = await Promise.all(
    responses
      .filter((r) => r.status >= 500)
      .map(async (r) => `${r.status} ${r.headers.get('content-type')}: ${(await r.text()).slice(0, 200)}`),
  )
  return { statuses: responses.map((r) => r.status), failures, responses }
}

describe('concurrent requests in one isolate', () => {
  it('all succeed from a cold isolate: members of three tiers, rules and tiers not yet loaded', async () => {
    const tierList = await Promise.all([
      tierWithRules('cc', [{ route: 'GET /api/v1/me', limit: 1000 }]),
      tierWithRules('cc', [{ route: 'GET /api/v1/me', limit: 1000 }]),
      tierWithRules('cc'),
    ])
    const members = await Promise.all(
      Array.from({ length: 12 }, (_, i) => member({ user: { tierId: tierList[i % 3]!.id } })),
    )
    forgetTiers()
    for (const t of tierList) forgetTierRules(t.id)
    await Promise.all(members.map((m) => forgetAccount(s, m.id)))
    const { statuses, failures } = await burst(
      members.flatMap((m, i) => [
        () => call('GET', '/api/v1/me', m.token),
        () => call('GET', '/api/v1/me/profile', m.token),
        // Viewing a profile reads the viewer's tier features (the isolate's tier table).
        () => call('GET', `/api/v1/profiles/${members[(i + 1) % members.length]!.id}`, m.token),
      ]),
    )
    expect(failures).toEqual([])
    expect(statuses.every((st) => st === 200)).toBe(true)
  })

  it('all succeed when many requests of one tier reload its expired rules at once', async () => {
    const tier = await tierWithRules('cc', [{ route: 'GET /api/v1/me', limit: 1000 }])
    const members = await Promise.all(Array.from({ length: 6 }, () => member({ user: { tierId: tier.id } })))
    forgetTierRules(tier.id)
    const { failures, statuses } = await burst(
      Array.from({ length: 40 }, (_, i) => () => call('GET', '/api/v1/me', members[i % 6]!.token)),
    )
    expect(failures).toEqual([])
    expect(new Set(statuses)).toEqual(new Set([200]))
  })

  it('all succeed when many requests miss the same cache key together', async () => {
    const tier = await tierWithRules('cc')
    await invalidate(s, { tags: ['tiers'] })
    const { failures, responses } = await burst(
      Array.from({ length: 30 }, () => () => api(`/api/v1/tier/${tier.name}`)),
    )
    expect(failures).toEqual([])
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200))
    const names = await Promise.all(responses.map(async (r) => ((await r.json()) as { name: string }).name))
    expect(new Set(names)).toEqual(new Set([tier.name]))
  })

  it('all succeed when one account sends many requests at once with its summary not cached', async () => {
    const m = await member()
    await forgetAccount(s, m.id)
    const { failures, statuses } = await burst(
      Array.from(
        { length: 30 },
        (_, i) => () => call('GET', i % 2 ? '/api/v1/me' : '/api/v1/me/profile', m.token),
      ),
    )
    expect(failures).toEqual([])
    expect(new Set(statuses)).toEqual(new Set([200]))
  })
})

/** Services of one (simulated) request whose database counts the queries started through it. */
function countingRequest(): { s: Services; queries: () => number } {
  const base = services()
  let queries = 0
  const db = new Proxy(base.database.db, {
    get(target, prop, receiver) {
      if (prop === 'select') queries++
      return Reflect.get(target, prop, receiver) as unknown
    },
  })
  return { s: { ...base, database: { ...base.database, db } }, queries: () => queries }
}

describe('nothing pending is shared between requests', () => {
  it('the shared Redis client sends each caller its own fetch (no batching across callers)', async () => {
    const { s: tagged, stats } = taggedRedis()
    const key = `cc:${tag()}`
    // Two callers in the same tick: with auto-pipelining they would ride one fetch, which one of
    // them would await on behalf of the other.
    await Promise.all([tagged.redis.get(key), tagged.redis.get(key)])
    expect(await stats()).toMatchObject({ requests: 2, commands: 2 })
  })

  it("a request never awaits another request's rule load for a cold tier", async () => {
    const tier = await tierWithRules('cc', [{ route: 'GET /api/v1/me', limit: 7 }])
    forgetTierRules(tier.id)
    const a = countingRequest()
    const b = countingRequest()
    const [ruleA, ruleB] = await Promise.all([
      limitFor(a.s, tier.id, 'GET /api/v1/me'),
      limitFor(b.s, tier.id, 'GET /api/v1/me'),
    ])
    expect([ruleA.limit, ruleB.limit]).toEqual([7, 7])
    expect([a.queries(), b.queries()]).toEqual([1, 1])
    // Within one request, overlapping calls still share one query; afterwards the rows are cached.
    forgetTierRules(tier.id)
    const c = countingRequest()
    await Promise.all([limitFor(c.s, tier.id, 'GET /api/v1/me'), limitFor(c.s, tier.id, 'GET /api/v1/me')])
    expect(c.queries()).toBe(1)
    const d = countingRequest()
    expect((await limitFor(d.s, tier.id, 'GET /api/v1/me')).limit).toBe(7)
    expect(d.queries()).toBe(0)
  })

  it("a request never awaits another request's load of the tier table", async () => {
    forgetTiers()
    const a = countingRequest()
    const b = countingRequest()
    await Promise.all([cachedTiers(a.s), cachedTiers(b.s)])
    expect([a.queries(), b.queries()]).toEqual([1, 1])
  })

  it("a cache miss never awaits another request's load of the same key", async () => {
    const key = cacheKey('GET /cc', { t: tag() })
    const first = taggedRedis()
    const second = taggedRedis()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let loading!: () => void
    const firstHoldsTheLock = new Promise<void>((resolve) => (loading = resolve))
    const slow = cached(first.s, { key, ttlSeconds: 60 }, async () => {
      loading()
      await gate
      return 'first'
    })
    // Only once the first request holds the load lock and runs its loader does the second ask, so
    // the order is the same however slow Redis answers.
    await firstHoldsTheLock
    // The second request asks while the first one's load is in flight: it must go to Redis itself
    // (and find the first one's lock), not wait on the first request's promise.
    const other = cached(second.s, { key, ttlSeconds: 60, lockMs: 300 }, async () => 'second')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect((await second.stats()).requests).toBeGreaterThan(0)
    release()
    expect(await slow).toBe('first')
    expect(['first', 'second']).toContain(await other)
  })
})
