import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { sessions, users } from '../../../src/db/schema'
import { problem, services } from '../helpers'
import { account, call } from '../fixtures'

const s = services()
const tag = () => crypto.randomUUID().replaceAll('-', '').slice(0, 10)

/** 200 from /me means the token still authenticates. */
const authenticates = async (token: string) => (await call('GET', '/api/v1/me', token)).status === 200

type Page = {
  data: { id: string; name: string | null }[]
  total_count: number
  has_more: boolean
  page: number
}

let admin: Awaited<ReturnType<typeof account>>
let member: Awaited<ReturnType<typeof account>>

beforeAll(async () => {
  admin = await account('admin', { username: `ua_admin_${tag()}` })
  member = await account('member')
})

describe('who may manage users', () => {
  it('answers anonymous callers with 401 and members and moderators with 403 on every route', async () => {
    const moderator = await account('moderator')
    const target = member.id
    const routes: [string, string, unknown?][] = [
      ['GET', '/api/v1/users'],
      ['GET', `/api/v1/user/${target}`],
      ['PATCH', `/api/v1/user/${target}`, { name: 'x' }],
      ['DELETE', `/api/v1/user/${target}`],
      ['POST', `/api/v1/user/${target}/restore`],
      ['DELETE', `/api/v1/db_user/${target}`],
    ]
    for (const [method, path, body] of routes) {
      expect((await call(method, path, undefined, body)).status, `${method} ${path}`).toBe(401)
      const forbidden = await call(method, path, member.token, body)
      expect(forbidden.status, `${method} ${path}`).toBe(403)
      expect((await problem(forbidden)).code).toBe('forbidden')
      expect((await call(method, path, moderator.token, body)).status, `${method} ${path}`).toBe(403)
    }
  })

  it('answers unknown users with 404, by id and by username', async () => {
    for (const who of [crypto.randomUUID(), `nobody_${tag()}`]) {
      expect((await call('GET', `/api/v1/user/${who}`, admin.token)).status).toBe(404)
      expect((await call('PATCH', `/api/v1/user/${who}`, admin.token, { name: 'x' })).status).toBe(404)
      expect((await call('DELETE', `/api/v1/user/${who}`, admin.token)).status).toBe(404)
      expect((await call('POST', `/api/v1/user/${who}/restore`, admin.token)).status).toBe(404)
      expect((await call('DELETE', `/api/v1/db_user/${who}`, admin.token)).status).toBe(404)
    }
  })
})

describe('GET /api/v1/users', () => {
  it('pages in a stable order (creation, then id) with the boilerplate envelope', async () => {
    const group = `Paging ${tag()}`
    const createdAt = new Date('2026-01-01T00:00:00Z')
    // Equal creation times on purpose: only the id tie-break keeps the pages disjoint.
    for (let i = 0; i < 5; i++) await account('member', { name: `${group} ${i}`, createdAt })
    const seen: string[] = []
    for (let page = 1; page <= 3; page++) {
      const res = await call(
        'GET',
        `/api/v1/users?items_per_page=2&page=${page}&search=${encodeURIComponent(group)}`,
        admin.token,
      )
      expect(res.status).toBe(200)
      const body = (await res.json()) as Page
      expect(body).toMatchObject({ total_count: 5, page, has_more: page < 3 })
      seen.push(...body.data.map((u) => u.id))
    }
    expect(seen).toHaveLength(5)
    expect(new Set(seen).size).toBe(5)
    expect(seen).toEqual([...seen].sort())
  })

  it('filters by role, status, tier and search (wildcards are literal)', async () => {
    const t = tag()
    const mod = await account('moderator', { name: `Filter ${t}` })
    await account('member', { name: `Filter ${t}`, status: 'deactivated' })
    const byRole = (await (
      await call('GET', `/api/v1/users?role=moderator&search=${t}`, admin.token)
    ).json()) as Page
    expect(byRole.data.map((u) => u.id)).toEqual([mod.id])
    const byStatus = (await (
      await call('GET', `/api/v1/users?status=deactivated&search=${t}`, admin.token)
    ).json()) as Page
    expect(byStatus.total_count).toBe(1)
    // Case-insensitive, on the email address as typed.
    const byEmail = (await (
      await call('GET', `/api/v1/users?search=${encodeURIComponent(mod.email.toUpperCase())}`, admin.token)
    ).json()) as Page
    expect(byEmail.data.map((u) => u.id)).toEqual([mod.id])
    const wildcard = (await (await call('GET', `/api/v1/users?search=%25${t}`, admin.token)).json()) as Page
    expect(wildcard.total_count).toBe(0)
    const noTier = (await (
      await call('GET', `/api/v1/users?tier=none-${t}&search=${t}`, admin.token)
    ).json()) as Page
    expect(noTier.total_count).toBe(0)
  })

  it('answers out-of-range paging and unknown filter values with 422', async () => {
    for (const q of [
      'page=0',
      'page=-1',
      'items_per_page=0',
      'items_per_page=101',
      'role=king',
      'status=gone',
    ]) {
      const res = await call('GET', `/api/v1/users?${q}`, admin.token)
      expect(res.status, q).toBe(422)
      expect((await problem(res)).errors?.[0]?.path).toMatch(/^query\./)
    }
  })
})

describe('GET and PATCH /api/v1/user/{idOrUsername}', () => {
  it('reads by id or username, without the password hash', async () => {
    const byId = await call('GET', `/api/v1/user/${admin.id}`, admin.token)
    expect(byId.status).toBe(200)
    const body = (await byId.json()) as Record<string, unknown>
    expect(body).toMatchObject({ id: admin.id, role: 'admin', username: admin.username })
    expect(body).not.toHaveProperty('passwordHash')
    const byName = await call('GET', `/api/v1/user/${admin.username!.toUpperCase()}`, admin.token)
    expect(((await byName.json()) as { id: string }).id).toBe(admin.id)
  })

  it('changes documented fields, applying role changes on the next request', async () => {
    const target = await account('member')
    expect((await call('GET', '/api/v1/users', target.token)).status).toBe(403)
    const username = `ua_${tag()}`
    const res = await call('PATCH', `/api/v1/user/${target.id}`, admin.token, {
      name: 'Renamed',
      username,
      role: 'admin',
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ name: 'Renamed', username, role: 'admin' })
    // Same access token: the cached account summary was dropped, so the new role applies at once.
    expect((await call('GET', '/api/v1/users', target.token)).status).toBe(200)
    expect((await call('GET', `/api/v1/user/${username}`, admin.token)).status).toBe(200)
  })

  it('rejects mass assignment and invalid values with 422', async () => {
    const target = await account('member')
    const attempts: unknown[] = [
      { email: 'taken@example.org' },
      { tierId: crypto.randomUUID() },
      { passwordHash: 'x' },
      { deletedAt: null },
      { id: crypto.randomUUID() },
      { name: 'ok', role: 'admin', is_superuser: true },
      { role: 'king' },
      { status: 'onboarding' },
      { username: 'Has Caps' },
    ]
    for (const body of attempts) {
      const res = await call('PATCH', `/api/v1/user/${target.id}`, admin.token, body)
      expect(res.status, JSON.stringify(body)).toBe(422)
    }
    const [row] = await s.database.db.select().from(users).where(eq(users.id, target.id))
    expect(row).toMatchObject({ role: 'member', email: target.email, passwordHash: null, name: null })
  })

  it('answers 409 for a taken username, 415 for non-JSON and 413 for an oversize body', async () => {
    const other = await account('member', { username: `ua_taken_${tag()}` })
    const target = await account('member')
    const taken = await call('PATCH', `/api/v1/user/${target.id}`, admin.token, { username: other.username })
    expect(taken.status).toBe(409)
    expect((await problem(taken)).code).toBe('conflict')
    expect(
      (await call('PATCH', `/api/v1/user/${target.id}`, admin.token, 'name=x', 'text/plain')).status,
    ).toBe(415)
    const big = await call('PATCH', `/api/v1/user/${target.id}`, admin.token, {
      name: 'x'.repeat(1024 * 1024 + 1),
    })
    expect(big.status).toBe(413)
  })

  it('deactivates (ending sessions and refusing sign-in) and reactivates', async () => {
    const target = await account('member')
    const off = await call('PATCH', `/api/v1/user/${target.id}`, admin.token, { status: 'deactivated' })
    expect(off.status).toBe(200)
    expect(await off.json()).toMatchObject({ status: 'deactivated', deactivationReason: 'admin' })
    expect(await authenticates(target.token)).toBe(false)
    const on = await call('PATCH', `/api/v1/user/${target.id}`, admin.token, { status: 'active' })
    expect(await on.json()).toMatchObject({ status: 'active', deactivatedAt: null, deactivationReason: null })
  })

  it('does not let an admin demote, deactivate or delete themselves', async () => {
    const self = await account('admin')
    for (const body of [{ role: 'member' }, { role: 'moderator' }, { status: 'deactivated' }]) {
      const res = await call('PATCH', `/api/v1/user/${self.id}`, self.token, body)
      expect(res.status, JSON.stringify(body)).toBe(403)
    }
    expect((await call('DELETE', `/api/v1/user/${self.id}`, self.token)).status).toBe(403)
    expect((await call('DELETE', `/api/v1/db_user/${self.id}`, self.token)).status).toBe(403)
    // Renaming oneself is fine, and so is one admin demoting another.
    expect((await call('PATCH', `/api/v1/user/${self.id}`, self.token, { name: 'Still admin' })).status).toBe(
      200,
    )
    expect((await call('PATCH', `/api/v1/user/${self.id}`, admin.token, { role: 'member' })).status).toBe(200)
  })
})

describe('soft delete and restore', () => {
  it('hides the account from every read, ends its sessions, and restores it', async () => {
    const name = `Soft ${tag()}`
    const target = await account('member', { name, username: `ua_soft_${tag()}` })
    expect(await authenticates(target.token)).toBe(true)
    const deleted = await call('DELETE', `/api/v1/user/${target.username}`, admin.token)
    expect(deleted.status).toBe(200)
    expect(await deleted.json()).toMatchObject({ id: target.id, revokedSessions: 1 })
    expect(await authenticates(target.token)).toBe(false)
    const [session] = await s.database.db.select().from(sessions).where(eq(sessions.userId, target.id))
    expect(session!.revokedReason).toBe('deleted_by_admin')

    expect((await call('GET', `/api/v1/user/${target.id}`, admin.token)).status).toBe(404)
    expect((await call('GET', `/api/v1/user/${target.username}`, admin.token)).status).toBe(404)
    expect((await call('PATCH', `/api/v1/user/${target.id}`, admin.token, { name: 'x' })).status).toBe(404)
    expect(
      (await call('PATCH', `/api/v1/user/${target.id}/tier`, admin.token, { tier: 'free' })).status,
    ).toBe(404)
    expect((await call('DELETE', `/api/v1/user/${target.id}`, admin.token)).status).toBe(404)
    const listed = (await (
      await call('GET', `/api/v1/users?search=${encodeURIComponent(name)}`, admin.token)
    ).json()) as Page
    expect(listed.total_count).toBe(0)

    const restored = await call('POST', `/api/v1/user/${target.id}/restore`, admin.token)
    expect(restored.status).toBe(200)
    expect(await restored.json()).toMatchObject({ id: target.id, name })
    expect((await call('GET', `/api/v1/user/${target.username}`, admin.token)).status).toBe(200)
    const again = await call('POST', `/api/v1/user/${target.id}/restore`, admin.token)
    expect(again.status).toBe(409)
  })
})

describe('DELETE /api/v1/db_user/{idOrUsername}', () => {
  it('removes the account for good, soft-deleted or not, and its tokens stop working', async () => {
    const live = await account('member')
    const soft = await account('member')
    expect((await call('DELETE', `/api/v1/user/${soft.id}`, admin.token)).status).toBe(200)
    for (const target of [live, soft]) {
      expect((await call('DELETE', `/api/v1/db_user/${target.id}`, admin.token)).status).toBe(204)
      expect(await s.database.db.select().from(users).where(eq(users.id, target.id))).toEqual([])
      expect((await call('DELETE', `/api/v1/db_user/${target.id}`, admin.token)).status).toBe(404)
    }
    expect(await authenticates(live.token)).toBe(false)
  })
})
