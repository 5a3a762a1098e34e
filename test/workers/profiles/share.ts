import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import worker from '../../../src/index'
import { profiles } from '../../../src/db/schema'
import { call, member } from '../fixtures'
import { api, envWith, origin, problem, services } from '../helpers'

const db = services().database.db
async function idFromDb(userId: string): Promise<string> {
  const [row] = await db.select().from(profiles).where(eq(profiles.userId, userId))
  return row!.publicId
}

interface Shared {
  shareId: string
  name: string
  urlSlug: string
  answerCount: number
  personality: { percentage: number | null }[]
}

async function shareIdOf(token: string): Promise<string> {
  const res = await call('GET', '/api/v1/me/profile', token)
  expect(res.status).toBe(200)
  return ((await res.json()) as { shareId: string }).shareId
}

describe('share links', () => {
  it('every member has a short random share id, not their account id', async () => {
    const [a, b] = [await member(), await member()]
    const [idA, idB] = [await shareIdOf(a.token), await shareIdOf(b.token)]
    expect(idA).toMatch(/^[0-9A-Za-z]{12}$/)
    expect(idA).not.toBe(idB)
    expect(a.id.replaceAll('-', '')).not.toContain(idA.toLowerCase())
    expect(await shareIdOf(a.token)).toBe(idA)
  })

  it('shows a public profile to anonymous visitors, cacheably', async () => {
    const them = await member({ name: 'Noor', profile: { publicProfile: true } })
    const shareId = await shareIdOf(them.token)
    const res = await api(`/api/v1/share/${shareId}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/)
    const body = (await res.json()) as Shared
    expect(body).toMatchObject({ shareId, name: 'Noor', urlSlug: them.profile.urlSlug, answerCount: 0 })
    expect(body.personality.length).toBeGreaterThan(0)
    const etag = res.headers.get('etag')!
    const again = await api(`/api/v1/share/${shareId}`, { headers: { 'If-None-Match': etag } })
    expect(again.status).toBe(304)
  })

  it('404 for profiles that are not public, hide from strangers, ask for verification or are gone', async () => {
    const cases = [
      { profile: {} },
      { profile: { publicProfile: true, hideMeFromStrangers: true } },
      { profile: { publicProfile: true, privacyVerificationLevel: 'basics' as const } },
      { profile: { publicProfile: true }, user: { status: 'deactivated' as const } },
      { profile: { publicProfile: true }, user: { deletedAt: new Date() } },
    ]
    for (const c of cases) {
      const them = await member({ profile: c.profile, user: c.user })
      const res = await api(`/api/v1/share/${await idFromDb(them.id)}`)
      expect([cases.indexOf(c), res.status]).toEqual([cases.indexOf(c), 404])
      expect((await problem(res)).code).toBe('not_found')
    }
    expect((await api('/api/v1/share/AAAAAAAAAAAA')).status).toBe(404)
  })

  it('422 for a malformed id', async () => {
    const res = await api('/api/v1/share/not-an-id')
    expect(res.status).toBe(422)
    expect((await problem(res)).errors?.[0]?.path).toBe('param.shareId')
  })

  it('429 with Retry-After once an anonymous visitor passes the per-IP limit', async () => {
    const them = await member({ profile: { publicProfile: true } })
    const shareId = await shareIdOf(them.token)
    // The real Worker entry with a default limit of 2 a minute, from an address of its own.
    const ip = `198.51.100.${1 + Math.floor(Math.random() * 250)}`
    const visit = async () => {
      const ctx = createExecutionContext()
      const res = await worker.fetch(
        new Request(`${origin}/api/v1/share/${shareId}`, { headers: { 'cf-connecting-ip': ip } }),
        envWith({ DEFAULT_RATE_LIMIT_LIMIT: '2', DEFAULT_RATE_LIMIT_PERIOD: '60' }),
        ctx,
      )
      await waitOnExecutionContext(ctx)
      return res
    }
    expect((await visit()).status).toBe(200)
    expect((await visit()).status).toBe(200)
    const refused = await visit()
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await problem(refused)).code).toBe('rate_limited')
  })
})
