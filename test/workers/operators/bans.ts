import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { bans, sessions } from '../../../src/db/schema'
import type { Role } from '../../../src/services/accounts/tokens'
import { startSession } from '../../../src/services/accounts/sessions'
import { api, problem, services } from '../helpers'
import { insertUsers } from '../fixtures'

const s = services()

const uniqueIp = () =>
  `2001:db8:${[...crypto.getRandomValues(new Uint16Array(3))].map((n) => n.toString(16)).join(':')}::b`
/** A random IPv4 address in 198.18.0.0/15 (RFC 2544 benchmarking), so tests never share one. */
const testNetIp = () => {
  const [a, b, c] = crypto.getRandomValues(new Uint8Array(3))
  return `198.${18 + (a! & 1)}.${b}.${c}`
}

/** A user with a live session; `token` is its access token, `refresh` its refresh token. */
async function account(role: Role = 'member') {
  const tag = crypto.randomUUID().replaceAll('-', '').slice(0, 12)
  const [user] = await insertUsers([
    {
      email: `ban-${tag}@example.org`,
      emailDisplay: `Ban-${tag}@example.org`,
      username: `ban_${tag}`,
      role,
      status: 'active',
    },
  ])
  const session = await startSession(s, user!, { client: 'mobile', ip: '198.51.100.1' })
  return { ...user!, token: session.accessToken, refresh: session.refreshToken }
}

function call(method: string, path: string, token?: string, body?: unknown) {
  return api(path, {
    method,
    headers: {
      'CF-Connecting-IP': uniqueIp(),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

/** 426 means the token got through authentication (the socket route then wants an upgrade). */
const authenticates = async (token: string) =>
  (await api('/api/v1/hub/socket', { headers: { Authorization: `Bearer ${token}` } })).status === 426

let admin: Awaited<ReturnType<typeof account>>
let moderator: Awaited<ReturnType<typeof account>>

beforeAll(async () => {
  ;[admin, moderator] = await Promise.all([account('admin'), account('moderator')])
})

describe('who may use /api/v1/admin/bans', () => {
  it('refuses anonymous callers with 401 and members with 403', async () => {
    const anonymous = await call('GET', '/api/v1/admin/bans')
    expect(anonymous.status).toBe(401)
    const member = await account('member')
    const listed = await call('GET', '/api/v1/admin/bans', member.token)
    expect(listed.status).toBe(403)
    expect((await problem(listed)).code).toBe('forbidden')
    const create = await call('POST', '/api/v1/admin/bans', member.token, {
      kind: 'ip',
      value: testNetIp(),
      reason: 'x',
    })
    expect(create.status).toBe(403)
    const lift = await call('DELETE', `/api/v1/admin/bans/${crypto.randomUUID()}`)
    expect(lift.status).toBe(401)
  })

  it('lets moderators and admins list', async () => {
    expect((await call('GET', '/api/v1/admin/bans', moderator.token)).status).toBe(200)
    expect((await call('GET', '/api/v1/admin/bans', admin.token)).status).toBe(200)
  })
})

describe('POST /api/v1/admin/bans', () => {
  it('bans an email (normalised) and ends every live session of that account at once', async () => {
    const member = await account()
    const secondSession = await startSession(s, member, { client: 'web', ip: '198.51.100.2' })
    expect(await authenticates(member.token)).toBe(true)

    const res = await call('POST', '/api/v1/admin/bans', moderator.token, {
      kind: 'email',
      value: `  ${member.emailDisplay.toUpperCase()} `,
      reason: 'Harassment',
    })
    expect(res.status).toBe(201)
    const ban = (await res.json()) as any
    expect(ban).toMatchObject({
      kind: 'email',
      value: member.email,
      reason: 'Harassment',
      active: true,
      expiresAt: null,
      liftedAt: null,
      createdBy: moderator.id,
      revokedSessions: 2,
    })

    expect(await authenticates(member.token)).toBe(false)
    expect(await authenticates(secondSession.accessToken)).toBe(false)
    const live = await s.database.db.select().from(sessions).where(eq(sessions.userId, member.id))
    expect(live.every((row) => row.revokedReason === 'banned')).toBe(true)
  })

  it('bans an IP, optionally until a time, and lists it', async () => {
    const ip = testNetIp()
    const until = new Date(Date.now() + 86_400_000).toISOString()
    const res = await call('POST', '/api/v1/admin/bans', admin.token, {
      kind: 'ip',
      value: ip,
      reason: 'Scraping',
      expiresAt: until,
    })
    expect(res.status).toBe(201)
    const ban = (await res.json()) as any
    expect(ban).toMatchObject({ kind: 'ip', value: ip, expiresAt: until, revokedSessions: 0 })

    const list = await call('GET', '/api/v1/admin/bans?kind=ip&active=true&items_per_page=100', admin.token)
    expect(list.status).toBe(200)
    const page = (await list.json()) as any
    expect(page.data.map((b: any) => b.id)).toContain(ban.id)
    expect(page.data.every((b: any) => b.kind === 'ip' && b.active)).toBe(true)
  })

  it('lower-cases an IPv6 address', async () => {
    const res = await call('POST', '/api/v1/admin/bans', admin.token, {
      kind: 'ip',
      value: `2001:DB8:${crypto.randomUUID().slice(0, 4).toUpperCase()}::1`,
      reason: 'x',
    })
    expect(res.status).toBe(201)
    expect(((await res.json()) as any).value).toMatch(/^2001:db8:[0-9a-f]{4}::1$/)
  })

  it.each([
    [{ kind: 'ip', value: '999.1.1.1', reason: 'x' }, 'json.value'],
    [{ kind: 'ip', value: 'example.org', reason: 'x' }, 'json.value'],
    [{ kind: 'email', value: 'not-an-email', reason: 'x' }, 'json.value'],
    [{ kind: 'phone', value: '+100', reason: 'x' }, 'json.kind'],
    [{ kind: 'ip', value: '203.0.113.9', reason: '' }, 'json.reason'],
    [{ kind: 'ip', value: '203.0.113.9', reason: 'x', expiresAt: 'tomorrow' }, 'json.expiresAt'],
    [{ kind: 'ip', value: '203.0.113.9', reason: 'x', expiresAt: '2001-01-01T00:00:00Z' }, 'json.expiresAt'],
  ])('answers 422 for %j', async (body, path) => {
    const res = await call('POST', '/api/v1/admin/bans', admin.token, body)
    expect(res.status).toBe(422)
    expect((await problem(res)).errors?.map((e) => e.path)).toContain(path)
  })

  it('refuses a second active ban on the same value with 409', async () => {
    const ip = testNetIp()
    const body = { kind: 'ip', value: ip, reason: 'first' }
    // Another run may have left this address banned: lift anything active on it first.
    await s.database.db.update(bans).set({ liftedAt: new Date() }).where(eq(bans.value, ip))
    expect((await call('POST', '/api/v1/admin/bans', admin.token, body)).status).toBe(201)
    const again = await call('POST', '/api/v1/admin/bans', admin.token, { ...body, reason: 'second' })
    expect(again.status).toBe(409)
    expect((await problem(again)).code).toBe('conflict')
  })

  it('does not let a moderator ban an operator, nor anyone ban themselves', async () => {
    const otherAdmin = await account('admin')
    const byModerator = await call('POST', '/api/v1/admin/bans', moderator.token, {
      kind: 'email',
      value: otherAdmin.email,
      reason: 'x',
    })
    expect(byModerator.status).toBe(403)
    expect(await authenticates(otherAdmin.token)).toBe(true)
    const self = await call('POST', '/api/v1/admin/bans', admin.token, {
      kind: 'email',
      value: admin.email,
      reason: 'x',
    })
    expect(self.status).toBe(403)
  })

  it('refuses a body that is not JSON with 415', async () => {
    const res = await api('/api/v1/admin/bans', {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin.token}`, 'content-type': 'text/plain' },
      body: 'kind=ip',
    })
    expect(res.status).toBe(415)
  })
})

describe('DELETE /api/v1/admin/bans/{id}', () => {
  it('lifts a ban, keeps it on record, and is idempotent', async () => {
    const created = (await (
      await call('POST', '/api/v1/admin/bans', admin.token, { kind: 'ip', value: testNetIp(), reason: 'x' })
    ).json()) as any
    const lifted = await call('DELETE', `/api/v1/admin/bans/${created.id}`, moderator.token)
    expect(lifted.status).toBe(200)
    const body = (await lifted.json()) as any
    expect(body).toMatchObject({ id: created.id, active: false, liftedAt: expect.any(String) })

    const again = await call('DELETE', `/api/v1/admin/bans/${created.id}`, admin.token)
    expect(again.status).toBe(200)
    expect(((await again.json()) as any).liftedAt).toBe(body.liftedAt)

    const inactive = (await (
      await call('GET', '/api/v1/admin/bans?active=false&kind=ip&items_per_page=100', admin.token)
    ).json()) as any
    expect(inactive.data.some((b: any) => b.id === created.id)).toBe(true)
    expect(inactive.data.every((b: any) => !b.active)).toBe(true)
  })

  it('answers 404 for an unknown id and 422 for a malformed one', async () => {
    const unknown = await call('DELETE', `/api/v1/admin/bans/${crypto.randomUUID()}`, admin.token)
    expect(unknown.status).toBe(404)
    expect((await problem(unknown)).code).toBe('not_found')
    const malformed = await call('DELETE', '/api/v1/admin/bans/42', admin.token)
    expect(malformed.status).toBe(422)
    expect((await problem(malformed)).errors?.[0]?.path).toBe('param.id')
  })
})

describe('GET /api/v1/admin/bans pagination', () => {
  it.each([
    ['page=0', 'query.page'],
    ['page=-1', 'query.page'],
    ['page=abc', 'query.page'],
    ['page=1.5', 'query.page'],
    ['items_per_page=0', 'query.items_per_page'],
    ['items_per_page=101', 'query.items_per_page'],
    ['active=yes', 'query.active'],
    ['kind=phone', 'query.kind'],
  ])('answers 422 for %s', async (query, path) => {
    const res = await call('GET', `/api/v1/admin/bans?${query}`, admin.token)
    expect(res.status).toBe(422)
    expect((await problem(res)).errors?.map((e) => e.path)).toContain(path)
  })

  it('pages in a stable order: newest first, ties broken by id', async () => {
    // Three lifted bans stamped in the far future with one shared time, so they sort first
    // whatever other tests add meanwhile, and only the id can order them.
    const stamp = new Date('2999-01-01T00:00:00Z')
    const rows = await s.database.db
      .insert(bans)
      .values(
        [1, 2, 3].map(() => ({
          kind: 'ip' as const,
          value: testNetIp(),
          reason: 'pagination',
          createdAt: stamp,
          liftedAt: stamp,
        })),
      )
      .returning({ id: bans.id })
    const expected = rows.map((r) => r.id).sort((a, b) => (a < b ? 1 : -1))

    const first = (await (
      await call('GET', '/api/v1/admin/bans?page=1&items_per_page=2', admin.token)
    ).json()) as any
    expect(first).toMatchObject({ page: 1, items_per_page: 2, has_more: true })
    expect(first.total_count).toBeGreaterThanOrEqual(3)
    expect(first.data.map((b: any) => b.id)).toEqual(expected.slice(0, 2))

    const second = (await (
      await call('GET', '/api/v1/admin/bans?page=2&items_per_page=2', admin.token)
    ).json()) as any
    expect(second.data[0].id).toBe(expected[2])

    const defaults = (await (await call('GET', '/api/v1/admin/bans', admin.token)).json()) as any
    expect(defaults).toMatchObject({ page: 1, items_per_page: 10 })

    const beyond = (await (
      await call('GET', `/api/v1/admin/bans?page=10000&items_per_page=100`, admin.token)
    ).json()) as any
    expect(beyond).toMatchObject({ data: [], has_more: false, page: 10000 })
  })
})
