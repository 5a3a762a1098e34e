import { eq } from 'drizzle-orm'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { users } from '../../../src/db/schema'
import type { Env } from '../../../src/env'
import worker from '../../../src/index'
import { startSession } from '../../../src/services/accounts/sessions'
import { forgetAccount } from '../../../src/services/accounts/account-cache'
import {
  api,
  clearOfWindowEdge,
  envWith,
  origin,
  problem,
  services,
  taggedRedis,
  tierWithRules,
} from '../helpers'
import { bearer, uniqueIp } from '../auth-helpers'
import { insertUsers } from '../fixtures'
import { consumeLimit } from '../../../src/services/platform/rate-limit'

const s = services()
const tag = () => crypto.randomUUID().replaceAll('-', '').slice(0, 12)

async function member(tierId: string | null = null) {
  const t = tag()
  const [user] = await insertUsers([
    { email: `rlm-${t}@example.org`, emailDisplay: `rlm-${t}@example.org`, status: 'active', tierId },
  ])
  const session = await startSession(s, user!, { client: 'mobile', ip: '198.51.100.9' })
  return { ...user!, token: session.accessToken }
}

/** Through the Worker's own fetch with a given env (a tagged or dead Redis URL). */
async function fetchWith(env: Env, path: string, headers: Record<string, string> = {}) {
  const ctx = createExecutionContext()
  const res = await worker.fetch(new Request(origin + path, { headers }), env, ctx)
  await waitOnExecutionContext(ctx)
  return res
}

const deadRedis = 'http://127.0.0.1:1'
let publicTier: { id: string; name: string }

beforeAll(async () => {
  publicTier = await tierWithRules('rlm')
})

afterEach(() => {
  vi.restoreAllMocks()
})

describe('the global rate limit', () => {
  it('puts RateLimit-* headers on every limited response, errors included', async () => {
    const ip = uniqueIp()
    const ok = await api(`/api/v1/tier/${publicTier.name}/rate_limits`, {
      headers: { 'CF-Connecting-IP': ip },
    })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('RateLimit-Limit')).toBe(String(s.config.rateLimit.defaultLimit))
    expect(Number(ok.headers.get('RateLimit-Remaining'))).toBe(s.config.rateLimit.defaultLimit - 1)
    expect(Number(ok.headers.get('RateLimit-Reset'))).toBeGreaterThan(0)
    const missing = await api(`/api/v1/tier/no-such-${tag()}/rate_limits`, {
      headers: { 'CF-Connecting-IP': ip },
    })
    expect(missing.status).toBe(404)
    // Same route template, same client: the count goes on.
    expect(Number(missing.headers.get('RateLimit-Remaining'))).toBe(s.config.rateLimit.defaultLimit - 2)
  })

  it('leaves health checks and the docs alone', async () => {
    for (const path of ['/health', '/health/ready', '/openapi.json']) {
      const res = await api(path)
      expect(res.headers.get('RateLimit-Limit'), path).toBeNull()
    }
  })

  it("limits a member by their tier's rule for the route template, shared by every path", async () => {
    const tier = await tierWithRules('rlm', [{ route: 'DELETE /api/v1/me/sessions/{id}', limit: 2 }])
    const m = await member(tier.id)
    const del = () =>
      api(`/api/v1/me/sessions/${crypto.randomUUID()}`, { method: 'DELETE', headers: bearer(m.token) })
    const first = await del()
    expect(first.status).toBe(404)
    expect(first.headers.get('RateLimit-Limit')).toBe('2')
    expect((await del()).status).toBe(404)
    const refused = await del()
    expect(refused.status).toBe(429)
    const body = await problem(refused)
    expect(body.code).toBe('rate_limited')
    expect(body.detail).toContain('DELETE /api/v1/me/sessions/{id}')
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0)
    expect(refused.headers.get('RateLimit-Remaining')).toBe('0')
    // Other routes keep their own count, at the defaults (no rule for them).
    const me = await api('/api/v1/me', { headers: bearer(m.token) })
    expect(me.status).toBe(200)
    expect(me.headers.get('RateLimit-Limit')).toBe(String(s.config.rateLimit.defaultLimit))
    // Another member of the same tier has a count of their own.
    const other = await member(tier.id)
    expect(
      (
        await api(`/api/v1/me/sessions/${crypto.randomUUID()}`, {
          method: 'DELETE',
          headers: bearer(other.token),
        })
      ).status,
    ).toBe(404)
  })

  it("switches a member's limits the moment an admin changes their tier", async () => {
    const route = 'DELETE /api/v1/me/sessions/{id}'
    const small = await tierWithRules('rlm', [{ route, limit: 2 }])
    const large = await tierWithRules('rlm', [{ route, limit: 7 }])
    const m = await member(small.id)
    const admin = await member(null)
    await s.database.db.update(users).set({ role: 'admin' }).where(eq(users.id, admin.id))
    await s.redis.del(`auth:account:${admin.id}`)
    const del = () =>
      api(`/api/v1/me/sessions/${crypto.randomUUID()}`, { method: 'DELETE', headers: bearer(m.token) })
    expect((await del()).headers.get('RateLimit-Limit')).toBe('2')

    const moved = await api(`/api/v1/user/${m.id}/tier`, {
      method: 'PATCH',
      headers: { ...bearer(admin.token), 'content-type': 'application/json' },
      body: JSON.stringify({ tier: large.name }),
    })
    expect(moved.status).toBe(200)
    const after = await del()
    expect(after.status).toBe(404)
    expect(after.headers.get('RateLimit-Limit')).toBe('7')
  })

  it('counts anonymous callers by client IP, one count per IP', async () => {
    const tier = await tierWithRules('rlm', [{ route: 'GET /api/v1/me', limit: 1 }])
    const m = await member(tier.id)
    const ip = uniqueIp()
    const path = `/api/v1/tier/${publicTier.name}/rate_limits`
    const a = await api(path, { headers: { 'CF-Connecting-IP': ip } })
    const b = await api(path, { headers: { 'CF-Connecting-IP': ip } })
    expect(Number(b.headers.get('RateLimit-Remaining'))).toBe(
      Number(a.headers.get('RateLimit-Remaining')) - 1,
    )
    const c = await api(path, { headers: { 'CF-Connecting-IP': uniqueIp() } })
    expect(c.headers.get('RateLimit-Remaining')).toBe(String(s.config.rateLimit.defaultLimit - 1))
    // A tier rule binds the member, not the IP they share with others.
    expect(
      (await api('/api/v1/me', { headers: { ...bearer(m.token), 'CF-Connecting-IP': ip } })).status,
    ).toBe(200)
    expect(
      (await api('/api/v1/me', { headers: { ...bearer(m.token), 'CF-Connecting-IP': ip } })).status,
    ).toBe(429)
  })

  it('applies a sliding-window rule', async () => {
    const tier = await tierWithRules('rlm', [
      { route: 'GET /api/v1/me', limit: 1, periodSeconds: 60, algorithm: 'sliding' },
    ])
    const m = await member(tier.id)
    await clearOfWindowEdge(60)
    expect((await api('/api/v1/me', { headers: bearer(m.token) })).status).toBe(200)
    const refused = await api('/api/v1/me', { headers: bearer(m.token) })
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('Retry-After'))).toBeLessThanOrEqual(60)
  }, 30_000)
})

describe('a spaced rule (one event per period, with no window edge)', () => {
  const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
  const rule = { name: `spaced-${tag()}`, limit: 1, periodSeconds: 1, algorithm: 'spaced' as const }

  it('refuses a second event just past an epoch edge, and allows one a full period later', async () => {
    const identity = `test:${tag()}`
    // Start 150 ms before a whole second: a fixed window would start again 150 ms later.
    await wait(1000 - (Date.now() % 1000) + 850)
    const first = await consumeLimit(s, rule, identity)
    expect(first.success).toBe(true)
    await wait(300)
    const second = await consumeLimit(s, rule, identity)
    expect(second.success).toBe(false)
    expect(second.reset - Date.now()).toBeGreaterThan(0)
    expect(second.reset - Date.now()).toBeLessThanOrEqual(1000)
    await wait(second.reset - Date.now() + 50)
    expect((await consumeLimit(s, rule, identity)).success).toBe(true)
    // Another identity has a bucket of its own.
    expect((await consumeLimit(s, rule, `test:${tag()}`)).success).toBe(true)
  })

  it('compared with fixed and sliding rules, which let more through just past an edge', async () => {
    // 3-s rules: three events from 1.5 s before a window edge, two more just after it (a sliding
    // window still weighs the last one by more than two thirds for the first second).
    const periodMs = 3_000
    await wait(periodMs - (Date.now() % periodMs) + periodMs - 1_500)
    const rules = (['fixed', 'sliding', 'spaced'] as const).map((algorithm) => ({
      name: `edge-${algorithm}-${tag()}`,
      limit: algorithm === 'spaced' ? 1 : 3,
      periodSeconds: periodMs / 1000,
      algorithm,
    }))
    const outcomes = new Map(rules.map((r) => [r.algorithm, [] as boolean[]]))
    const burst = async (n: number) => {
      for (const r of rules) {
        for (let i = 0; i < n; i++)
          outcomes.get(r.algorithm)!.push((await consumeLimit(s, r, 'edge')).success)
      }
    }
    await burst(3)
    expect(periodMs - (Date.now() % periodMs)).toBeGreaterThan(100)
    await wait(periodMs - (Date.now() % periodMs) + 50)
    await burst(2)
    expect(Date.now() % periodMs).toBeLessThan(periodMs / 3)
    // A fixed window starts again: five within two seconds. A sliding one still counts most of
    // the last window: one more. A spaced rule: the first only.
    expect(outcomes.get('fixed')).toEqual([true, true, true, true, true])
    expect(outcomes.get('sliding')).toEqual([true, true, true, true, false])
    expect(outcomes.get('spaced')).toEqual([true, false, false, false, false])
  }, 20_000)

  it('takes a limit of one only', async () => {
    await expect(consumeLimit(s, { ...rule, name: `spaced-${tag()}`, limit: 2 }, 'x')).rejects.toThrow(
      /limit of 1/,
    )
  })
})

describe('what rate limiting costs in Redis', () => {
  it('adds one round trip (one command) to an allowed request', async () => {
    const { env, stats } = taggedRedis()
    const path = `/api/v1/tier/${publicTier.name}/rate_limits`
    const headers = { 'CF-Connecting-IP': uniqueIp() }
    // Warm-up: the first request may pay the client's one-time EVALSHA → EVAL script load.
    expect((await fetchWith(env, path, headers)).status).toBe(200)
    const before = await stats()
    expect((await fetchWith(env, path, headers)).status).toBe(200)
    const after = await stats()
    // This route reads no Redis of its own: everything counted is the limiter's.
    expect(after.requests - before.requests).toBe(1)
    expect(after.commands - before.commands).toBe(1)
  })

  it('counts an authenticated request in authentication’s own round trip', async () => {
    const tier = await tierWithRules('rlm')
    const m = await member(tier.id)
    const { env, stats } = taggedRedis()
    expect((await fetchWith(env, '/api/v1/me', bearer(m.token))).status).toBe(200)
    const before = await stats()
    const res = await fetchWith(env, '/api/v1/me', bearer(m.token))
    expect(res.status).toBe(200)
    expect(res.headers.get('RateLimit-Remaining')).toBe(String(s.config.rateLimit.defaultLimit - 2))
    const after = await stats()
    // One pipeline: revocation marker, live-session marker, account summary and the limiter's script.
    expect(after.requests - before.requests).toBe(1)
    expect(after.commands - before.commands).toBe(4)
  })

  it('recounts under the new tier when the tier changed after the token was issued', async () => {
    const m = await member(null)
    const tier = await tierWithRules('rlm', [{ route: 'GET /api/v1/me', limit: 5 }])
    await s.database.db.update(users).set({ tierId: tier.id }).where(eq(users.id, m.id))
    await forgetAccount(s, m.id)
    const { env, stats } = taggedRedis()
    // The first request also caches the account summary (one more write).
    expect((await fetchWith(env, '/api/v1/me', bearer(m.token))).status).toBe(200)
    const before = await stats()
    const res = await fetchWith(env, '/api/v1/me', bearer(m.token))
    expect(res.status).toBe(200)
    // The token still names no tier: its guess is discarded and the new tier's rule applies.
    expect(res.headers.get('RateLimit-Limit')).toBe('5')
    expect(res.headers.get('RateLimit-Remaining')).toBe('3')
    expect((await stats()).requests - before.requests).toBe(2)
  })

  it('refuses a blocked identity without any Redis call while the block lasts', async () => {
    const tier = await tierWithRules('rlm', [{ route: 'GET /api/v1/me', limit: 2 }])
    const m = await member(tier.id)
    const { env, stats } = taggedRedis()
    expect((await fetchWith(env, '/api/v1/me', bearer(m.token))).status).toBe(200)
    expect((await fetchWith(env, '/api/v1/me', bearer(m.token))).status).toBe(200)
    expect((await fetchWith(env, '/api/v1/me', bearer(m.token))).status).toBe(429)
    const before = await stats()
    for (let i = 0; i < 3; i++) {
      const refused = await fetchWith(env, '/api/v1/me', bearer(m.token))
      expect(refused.status).toBe(429)
      expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0)
    }
    expect(await stats()).toEqual(before)
  })
})

describe('when Redis is unreachable', () => {
  it('fails open by default: requests are served, one warning per interval', async () => {
    const warn = vi.spyOn(console, 'warn')
    const env = envWith({ UPSTASH_REDIS_REST_URL: deadRedis })
    for (let i = 0; i < 3; i++) {
      const res = await fetchWith(env, `/api/v1/tier/${publicTier.name}/rate_limits`, {
        'CF-Connecting-IP': uniqueIp(),
      })
      expect(res.status).toBe(200)
      expect(res.headers.get('RateLimit-Limit')).toBe(String(s.config.rateLimit.defaultLimit))
    }
    const warnings = warn.mock.calls.filter(([line]) => String(line).includes('rate_limit.fail_open'))
    expect(warnings).toHaveLength(1)
  })

  it('answers 503 when configured to fail closed', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const env = envWith({ UPSTASH_REDIS_REST_URL: deadRedis, RATE_LIMIT_FAIL_MODE: 'closed' })
    const res = await fetchWith(env, `/api/v1/tier/${publicTier.name}/rate_limits`, {
      'CF-Connecting-IP': uniqueIp(),
    })
    expect(res.status).toBe(503)
    expect((await problem(res)).code).toBe('service_unavailable')
  })
})

// Provided by test/setup/global-setup.ts (Node tsconfig); repeated for this workerd-side file.
declare module 'vitest' {
  export interface ProvidedContext {
    upstashUrl: string
  }
}
