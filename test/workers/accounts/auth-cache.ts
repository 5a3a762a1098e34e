import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { sessions, users } from '../../../src/db/schema'
import worker from '../../../src/index'
import { accessToken, api, envWith, origin, services } from '../helpers'
import { bearer, signIn } from '../auth-helpers'

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

  it('refuses a correctly signed token whose session was never issued', async () => {
    const t = await signIn()
    const forged = await accessToken({ sub: t.user.id, sid: crypto.randomUUID() })
    expect((await api('/api/v1/me', { headers: bearer(forged) })).status).toBe(401)
    // The real session still works, from its marker, in the one pipeline.
    expect((await api('/api/v1/me', { headers: bearer(t.accessToken) })).status).toBe(200)
  })

  it('refuses a token whose session row is gone once its marker is', async () => {
    const t = await signIn()
    const { sid } = JSON.parse(atob(t.accessToken.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as {
      sid: string
    }
    expect(await s.redis.get(`auth:session:${sid}`)).not.toBeNull()
    // Without a marker, Postgres decides, and puts the marker back for a live session.
    await s.redis.del(`auth:session:${sid}`)
    expect((await api('/api/v1/me', { headers: bearer(t.accessToken) })).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await s.redis.get(`auth:session:${sid}`)).not.toBeNull()
    await s.database.db.delete(sessions).where(eq(sessions.id, sid))
    await s.redis.del(`auth:session:${sid}`)
    expect((await api('/api/v1/me', { headers: bearer(t.accessToken) })).status).toBe(401)
  })
})
