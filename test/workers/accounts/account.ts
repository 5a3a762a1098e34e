import { eq, inArray } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import {
  bans,
  exportTokens,
  jobs,
  photos,
  refreshTokens,
  sessions,
  signInChallenges,
  skips,
  users,
} from '../../../src/db/schema'
import { sha256Hex } from '../../../src/lib/crypto'
import { startSession } from '../../../src/services/accounts/sessions'
import { api, problem, services } from '../helpers'
import { insertUsers, member as onboardedMember } from '../fixtures'

const s = services()
const ip = '203.0.113.9'

/** A member with a unique email, straight into the database, signed in on `devices` devices. */
async function member(opts: { status?: 'onboarding' | 'active'; devices?: number; domain?: string } = {}) {
  const email = `account-${crypto.randomUUID()}@${opts.domain ?? 'rapport.test'}`
  const [user] = await insertUsers([
    {
      email,
      emailDisplay: email,
      status: opts.status ?? 'active',
      name: 'Ada',
      passwordHash: 'must-never-be-exported',
    },
  ])
  const tokens = []
  for (let i = 0; i < (opts.devices ?? 1); i++) {
    tokens.push(await startSession(s, { id: user!.id, role: 'member' }, { client: 'mobile', ip }))
  }
  return { user: user!, tokens, auth: { Authorization: `Bearer ${tokens[0]!.accessToken}` } }
}

const me = (token: string) => api('/api/v1/me', { headers: { Authorization: `Bearer ${token}` } })

describe('POST /api/v1/me/deactivate', () => {
  it('deactivates the account, keeps its sessions, and is idempotent', async () => {
    const { user, tokens, auth } = await member()
    const res = await api('/api/v1/me/deactivate', { method: 'POST', headers: auth })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { status: string; deactivatedAt: string }
    expect(body.status).toBe('deactivated')
    expect(Math.abs(new Date(body.deactivatedAt).getTime() - Date.now())).toBeLessThan(60_000)

    const [row] = await s.database.db.select().from(users).where(eq(users.id, user.id))
    expect(row).toMatchObject({ status: 'deactivated', deactivationReason: 'user' })
    expect(row!.deactivatedAt!.toISOString()).toBe(body.deactivatedAt)
    const [session] = await s.database.db.select().from(sessions).where(eq(sessions.userId, user.id))
    expect(session!.revokedAt).toBeNull()
    expect((await me(tokens[0]!.accessToken)).status).toBe(200)

    const again = await api('/api/v1/me/deactivate', { method: 'POST', headers: auth })
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual(body)
  })

  it('refuses an account that is still onboarding (reactivation by sign-in would skip onboarding)', async () => {
    const { user, auth } = await member({ status: 'onboarding' })
    const res = await api('/api/v1/me/deactivate', { method: 'POST', headers: auth })
    expect(res.status).toBe(409)
    expect((await problem(res)).code).toBe('conflict')
    const [row] = await s.database.db.select().from(users).where(eq(users.id, user.id))
    expect(row!.status).toBe('onboarding')
  })

  it('requires a bearer token', async () => {
    const res = await api('/api/v1/me/deactivate', { method: 'POST' })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
  })
})

describe('DELETE /api/v1/me', () => {
  it('revokes every session at once and removes everything that is theirs, nobody else’s', async () => {
    const { user, tokens, auth } = await member({ devices: 2 })
    const bystander = await member()
    const sessionIds = tokens.map((t) => t.sessionId)
    await s.database.db.insert(jobs).values({ type: 'account.test', ownerId: user.id })
    await s.database.db.insert(exportTokens).values({
      tokenHash: await sha256Hex(crypto.randomUUID()),
      userId: user.id,
      expiresAt: new Date(Date.now() + 60_000),
    })
    await s.database.db.insert(signInChallenges).values({
      email: user.email,
      emailDisplay: user.email,
      codeHash: 'x',
      ip,
      expiresAt: new Date(Date.now() + 60_000),
    })
    const [ban] = await s.database.db
      .insert(bans)
      .values({ kind: 'email', value: user.email, reason: 'spam', liftedAt: new Date() })
      .returning()

    const res = await api('/api/v1/me', { method: 'DELETE', headers: auth })
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')

    // Both devices' access tokens die at once (Redis markers), not at expiry.
    for (const t of tokens) expect((await me(t.accessToken)).status).toBe(401)
    expect((await api('/api/v1/me', { method: 'DELETE', headers: auth })).status).toBe(401)

    const db = s.database.db
    expect(await db.select().from(users).where(eq(users.id, user.id))).toEqual([])
    expect(await db.select().from(sessions).where(eq(sessions.userId, user.id))).toEqual([])
    expect(await db.select().from(refreshTokens).where(inArray(refreshTokens.sessionId, sessionIds))).toEqual(
      [],
    )
    expect(await db.select().from(exportTokens).where(eq(exportTokens.userId, user.id))).toEqual([])
    expect(await db.select().from(jobs).where(eq(jobs.ownerId, user.id))).toEqual([])
    expect(await db.select().from(signInChallenges).where(eq(signInChallenges.email, user.email))).toEqual([])
    // The ban is the moderators' record, not the member's data: deleting the account must not lift it.
    expect(await db.select({ id: bans.id }).from(bans).where(eq(bans.id, ban!.id))).toHaveLength(1)

    expect((await me(bystander.tokens[0]!.accessToken)).status).toBe(200)
  })
})

interface ExportDoc {
  format: string
  version: number
  exportedAt: string
  profile: Record<string, unknown>
  sessions: Record<string, unknown>[]
  signInChallenges: Record<string, unknown>[]
  exportTokens: Record<string, unknown>[]
  jobs: Record<string, unknown>[]
  bans: Record<string, unknown>[]
}

async function issueExportToken(auth: Record<string, string>) {
  const res = await api('/api/v1/me/export-token', { method: 'POST', headers: auth })
  expect(res.status).toBe(201)
  return (await res.json()) as { token: string; expiresAt: string }
}

describe('data export', () => {
  it('includes the dating profile, photos, voice bio, search preferences and skips', async () => {
    const me = await onboardedMember({ profile: { about: 'Exported bio' } })
    const other = await onboardedMember()
    await s.database.db
      .insert(skips)
      .values({ subjectId: me.id, objectId: other.id, reported: true, reportReason: 'rude' })
    await s.database.db.insert(photos).values({
      id: 'ef'.repeat(32),
      userId: me.id,
      position: 1,
      blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj',
      width: 900,
      height: 900,
      contentHash: 'x',
    })
    const { token } = await issueExportToken({ Authorization: `Bearer ${me.token}` })
    const data = (await (await api(`/api/v1/me/export/${token}`)).json()) as Record<string, unknown>
    expect(data).toMatchObject({
      datingProfile: { userId: me.id, about: 'Exported bio', urlSlug: me.profile.urlSlug },
      photos: [{ id: 'ef'.repeat(32), position: 1 }],
      voiceBio: null,
      verification: null,
      skips: [{ objectId: other.id, reported: true, reportReason: 'rude' }],
    })
  })

  it('issues a ten-minute token stored only as a hash', async () => {
    const { user, auth } = await member()
    const { token, expiresAt } = await issueExportToken(auth)
    expect(token).toMatch(/^[\w-]{43}$/)
    expect(new Date(expiresAt).getTime() - Date.now()).toBeGreaterThan(9 * 60_000)
    expect(new Date(expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(10 * 60_000)
    const rows = await s.database.db.select().from(exportTokens).where(eq(exportTokens.userId, user.id))
    expect(rows).toHaveLength(1)
    expect(rows[0]!.tokenHash).toBe(await sha256Hex(token))
    expect(JSON.stringify(rows)).not.toContain(token)
  })

  it('serves everything stored about the member once, as a no-store attachment, without a bearer token', async () => {
    const { user, tokens, auth } = await member({ devices: 2 })
    await s.database.db
      .insert(jobs)
      .values({ type: 'export.test', ownerId: user.id, payload: { a: 1 }, status: 'succeeded' })
    await s.database.db
      .insert(bans)
      .values({ kind: 'email', value: user.email, reason: 'old spam', liftedAt: new Date() })
    const { token } = await issueExportToken(auth)

    const res = await api(`/api/v1/me/export/${token}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const today = new Date().toISOString().slice(0, 10)
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="rapport-export-${today}.json"`)
    const text = await res.text()
    expect(text).not.toContain('must-never-be-exported')
    const doc = JSON.parse(text) as ExportDoc
    expect(doc).toMatchObject({ format: 'rapport.account-export', version: 1 })
    expect(doc.profile).toMatchObject({ id: user.id, email: user.email, name: 'Ada', status: 'active' })
    expect(doc.profile).not.toHaveProperty('passwordHash')
    expect(doc.profile.createdAt).toBe(user.createdAt.toISOString())
    expect(doc.sessions.map((x) => x.id).sort()).toEqual(tokens.map((t) => t.sessionId).sort())
    expect(doc.sessions[0]).toMatchObject({ client: 'mobile', ip, device: null, revokedAt: null })
    expect(doc.sessions[0]).toHaveProperty('lastSeenAt')
    expect(doc.jobs).toEqual([
      expect.objectContaining({ type: 'export.test', status: 'succeeded', payload: { a: 1 } }),
    ])
    expect(doc.bans).toEqual([expect.objectContaining({ reason: 'old spam', value: user.email })])
    expect(doc.exportTokens).toHaveLength(1)
    expect(doc.exportTokens[0]).not.toHaveProperty('tokenHash')

    const second = await api(`/api/v1/me/export/${token}`)
    expect(second.status).toBe(404)
    expect((await problem(second)).code).toBe('not_found')
  })

  it('answers unknown, used and expired tokens alike', async () => {
    const { user, auth } = await member()
    const expired = crypto.randomUUID()
    await s.database.db.insert(exportTokens).values({
      tokenHash: await sha256Hex(expired),
      userId: user.id,
      expiresAt: new Date(Date.now() - 1000),
    })
    const { token: used } = await issueExportToken(auth)
    expect((await api(`/api/v1/me/export/${used}`)).status).toBe(200)

    const answers = []
    for (const t of [expired, used, 'no-such-token-at-all']) {
      const res = await api(`/api/v1/me/export/${t}`)
      expect(res.status).toBe(404)
      const { requestId: _requestId, ...rest } = await problem(res)
      answers.push(rest)
    }
    expect(answers[1]).toEqual(answers[0])
    expect(answers[2]).toEqual(answers[0])
  })

  it('lets exactly one of two concurrent downloads with the same token through', async () => {
    const { auth } = await member()
    const { token } = await issueExportToken(auth)
    const results = await Promise.all([api(`/api/v1/me/export/${token}`), api(`/api/v1/me/export/${token}`)])
    expect(results.map((r) => r.status).sort()).toEqual([200, 404])
    await Promise.all(results.map((r) => r.body?.cancel()))
  })

  it('issues at most three tokens a day per member', async () => {
    const { auth } = await member()
    for (let i = 0; i < 3; i++) await issueExportToken(auth)
    const res = await api('/api/v1/me/export-token', { method: 'POST', headers: auth })
    expect(res.status).toBe(429)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await problem(res)).code).toBe('rate_limited')
    // The limit is the member's, not the device's or the IP's: another member is unaffected.
    const other = await member()
    await issueExportToken(other.auth)
  })

  it('documents the download as needing no bearer token and the rest as needing one', async () => {
    const doc = (await (await api('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>
    }
    expect(doc.paths['/api/v1/me/export/{token}']!.get!.security).toEqual([])
    expect(doc.paths['/api/v1/me/export-token']!.post!.security).toEqual([{ bearerAuth: [] }])
    expect(doc.paths['/api/v1/me/deactivate']!.post!.security).toEqual([{ bearerAuth: [] }])
    expect(doc.paths['/api/v1/me']!.delete!.security).toEqual([{ bearerAuth: [] }])
  })
})
