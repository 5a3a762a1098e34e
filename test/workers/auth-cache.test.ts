import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { users } from '../../src/db/schema'
import worker from '../../src/index'
import { api, envWith, origin, services } from './helpers'
import { bearer, signIn } from './auth-helpers'

const s = services()

/** The Worker with Redis pointed at a dead port. */
async function meWithoutRedis(token: string) {
  const ctx = createExecutionContext()
  const res = await worker.fetch(
    new Request(`${origin}/api/v1/me`, { headers: bearer(token) }),
    envWith({ UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:1' }),
    ctx,
  )
  await waitOnExecutionContext(ctx)
  return res
}

describe('authentication state', () => {
  it('reads revocation and the account in one Redis pipeline, caching the account', async () => {
    const t = await signIn()
    expect((await api('/api/v1/me', { headers: bearer(t.accessToken) })).status).toBe(200)
    expect(await s.redis.get(`auth:account:${t.user.id}`)).toMatchObject({ id: t.user.id, role: 'member' })
  })

  it('falls back to Postgres when Redis is down: live sessions pass, revoked ones do not', async () => {
    const t = await signIn()
    expect((await meWithoutRedis(t.accessToken)).status).toBe(200)
    expect(
      (await api('/api/v1/auth/logout', { method: 'POST', headers: bearer(t.accessToken) })).status,
    ).toBe(204)
    expect((await meWithoutRedis(t.accessToken)).status).toBe(401)
  })

  it('shows a status change at once rather than after the cache expires', async () => {
    const t = await signIn()
    await s.database.db.update(users).set({ status: 'active' }).where(eq(users.id, t.user.id))
    await s.redis.del(`auth:account:${t.user.id}`)
    expect(await (await api('/api/v1/me', { headers: bearer(t.accessToken) })).json()).toMatchObject({
      status: 'active',
    })
    const off = await api('/api/v1/me/deactivate', { method: 'POST', headers: bearer(t.accessToken) })
    expect(off.status).toBe(200)
    expect(await (await api('/api/v1/me', { headers: bearer(t.accessToken) })).json()).toMatchObject({
      status: 'deactivated',
    })
  })

  it('refuses a token whose account was deleted, even with a warm cache', async () => {
    const t = await signIn()
    expect((await api('/api/v1/me', { headers: bearer(t.accessToken) })).status).toBe(200)
    expect((await api('/api/v1/me', { method: 'DELETE', headers: bearer(t.accessToken) })).status).toBe(204)
    expect((await api('/api/v1/me', { headers: bearer(t.accessToken) })).status).toBe(401)
  })
})
