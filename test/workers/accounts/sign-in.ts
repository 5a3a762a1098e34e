import { env } from 'cloudflare:test'
import { asc, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { signInChallenges, tiers, users } from '../../../src/db/schema'
import type { Env } from '../../../src/env'
import { createServices, type Services } from '../../../src/services'
import { requestSignInCode, signUp, verifySignInCode } from '../../../src/services/accounts/sign-in'
import { startSession } from '../../../src/services/accounts/sessions'
import { accountKey, loadAccountSummary } from '../../../src/services/accounts/account-cache'
import { api, clearOfWindowEdge, mailbox, problem, services } from '../helpers'
import { bearer, post, signIn, uniqueEmail, uniqueIp } from '../auth-helpers'
import { insertUsers } from '../fixtures'

const s = services()

async function requestCode(email: string, ip = uniqueIp()) {
  const res = await post('/api/v1/auth/otp', { email }, { 'CF-Connecting-IP': ip })
  return {
    res,
    body: res.status === 201 ? ((await res.json()) as { challengeId: string; expiresAt: string }) : null,
  }
}
const verify = (challengeId: string, code: string, extra: Record<string, unknown> = {}, ip = uniqueIp()) =>
  post('/api/v1/auth/otp/verify', { challengeId, code, ...extra }, { 'CF-Connecting-IP': ip })

/** The code from the sink: real delivery through worker-mailer. */
async function deliveredCode(to: string): Promise<string> {
  const messages = await mailbox(to)
  const text = messages.at(-1)?.text ?? ''
  const code = /\b(\d{6})\b/.exec(text)?.[1]
  if (!code) throw new Error(`no code in mail to ${to}: ${JSON.stringify(messages)}`)
  return code
}

describe('email one-time-password sign-in', () => {
  it('mails a six-digit code to a real address and signs a new member in, needing onboarding', async () => {
    const email = uniqueEmail('rapport-mail.test')
    const { res, body } = await requestCode(email)
    expect(res.status).toBe(201)
    expect(new Date(body!.expiresAt).getTime() - Date.now()).toBeGreaterThan(9 * 60_000)
    const code = await deliveredCode(email)
    const signedIn = await verify(body!.challengeId, code)
    expect(signedIn.status).toBe(200)
    expect(signedIn.headers.get('cache-control')).toBe('no-store')
    const tokens = (await signedIn.json()) as any
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 1800, needsOnboarding: true })
    expect(tokens.user.status).toBe('onboarding')
    expect(tokens.refreshToken).toMatch(/^[\w-]{43}$/)

    const me = await api('/api/v1/me', { headers: bearer(tokens.accessToken) })
    expect(me.status).toBe(200)
    expect(me.headers.get('cache-control')).toBe('private, no-store')
    expect(await me.json()).toMatchObject({ id: tokens.user.id, email, role: 'member', status: 'onboarding' })
  })

  it('stores only a hash of the code', async () => {
    const email = uniqueEmail('rapport-mail.test')
    const { body } = await requestCode(email)
    const code = await deliveredCode(email)
    const [row] = await s.database.db
      .select()
      .from(signInChallenges)
      .where(eq(signInChallenges.id, body!.challengeId))
    expect(row!.codeHash).toMatch(/^[0-9a-f]{64}$/)
    expect(row!.codeHash).not.toContain(code)
  })

  it('accepts a code once only', async () => {
    const { body } = await requestCode(uniqueEmail())
    expect((await verify(body!.challengeId, '000000')).status).toBe(200)
    const again = await verify(body!.challengeId, '000000')
    expect(again.status).toBe(401)
    expect((await problem(again)).code).toBe('challenge_expired')
  })

  it('refuses an expired code', async () => {
    const { body } = await requestCode(uniqueEmail())
    await s.database.db
      .update(signInChallenges)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(signInChallenges.id, body!.challengeId))
    const res = await verify(body!.challengeId, '000000')
    expect(res.status).toBe(401)
    expect((await problem(res)).code).toBe('challenge_expired')
  })

  it('kills the challenge after five wrong codes, even for the right one afterwards', async () => {
    const { body } = await requestCode(uniqueEmail())
    const details = []
    for (let i = 0; i < 5; i++) {
      const res = await verify(body!.challengeId, '123456')
      expect(res.status).toBe(401)
      const p = await problem(res)
      expect(p.code).toBe('invalid_code')
      details.push(p.detail)
    }
    expect(details[0]).toContain('4 attempts left')
    expect(details[4]).toContain('request a new one')
    const right = await verify(body!.challengeId, '000000')
    expect(right.status).toBe(401)
    expect((await problem(right)).code).toBe('challenge_expired')
  })

  it('gives a fresh code and attempt budget on resend', async () => {
    const email = uniqueEmail('rapport-mail.test')
    const { body } = await requestCode(email)
    const first = await deliveredCode(email)
    for (let i = 0; i < 4; i++) await verify(body!.challengeId, first === '111111' ? '222222' : '111111')
    const resent = await post('/api/v1/auth/otp/resend', { challengeId: body!.challengeId })
    expect(resent.status).toBe(200)
    const second = await deliveredCode(email)
    expect((await mailbox(email)).length).toBe(2)
    if (second !== first) expect((await verify(body!.challengeId, first)).status).toBe(401)
    expect((await verify(body!.challengeId, second)).status).toBe(200)
  })

  it('answers 404 when resending an unknown challenge', async () => {
    const res = await post('/api/v1/auth/otp/resend', { challengeId: crypto.randomUUID() })
    expect(res.status).toBe(404)
  })

  it('signs @example.com in with 000000 outside production without sending mail', async () => {
    const email = uniqueEmail()
    const { body } = await requestCode(email)
    expect((await verify(body!.challengeId, '000000')).status).toBe(200)
    expect(await mailbox(email)).toEqual([])
  })

  it('has no 000000 shortcut in production', async () => {
    const base = createServices(env as Env)
    const production: Services = { ...base, config: { ...base.config, environment: 'production' } }
    const email = uniqueEmail()
    const { challengeId } = await requestSignInCode(production, {
      email,
      emailDisplay: email,
      ip: uniqueIp(),
    })
    await expect(
      verifySignInCode(production, { challengeId, code: '000000', client: 'mobile', ip: uniqueIp() }),
    ).rejects.toMatchObject({ code: 'invalid_code' })
    expect(await mailbox(email)).toEqual([])
  })

  it('folds spelling variants of one mailbox into one account', async () => {
    const local = `jane.doe.${crypto.randomUUID().slice(0, 6)}`
    const first = await requestCode(`${local}@gmail.com`)
    const firstCode = await deliveredCode(`${local}@gmail.com`)
    const one = (await (await verify(first.body!.challengeId, firstCode)).json()) as any
    const variant = `${local.toUpperCase().replaceAll('.', '')}+x@GoogleMail.com`
    const second = await requestCode(variant)
    const secondCode = await deliveredCode(variant)
    const two = (await (await verify(second.body!.challengeId, secondCode)).json()) as any
    expect(two.user.id).toBe(one.user.id)
    expect(two.needsOnboarding).toBe(true)
  })

  it('creates one account when two first sign-ins for a new address verify at once', async () => {
    const email = uniqueEmail()
    const challenges = [(await requestCode(email)).body!, (await requestCode(email)).body!]
    const signedIn = (await Promise.all(
      challenges.map(async (c) => (await verify(c.challengeId, '000000')).json()),
    )) as { user: { id: string }; needsOnboarding: boolean }[]
    expect(signedIn[1]!.user.id).toBe(signedIn[0]!.user.id)
    expect(signedIn.map((t) => t.needsOnboarding)).toEqual([true, true])
    const rows = await s.database.db.select().from(users).where(eq(users.email, email))
    expect(rows).toHaveLength(1)
    const [tier] = await s.database.db
      .select({ id: tiers.id })
      .from(tiers)
      .orderBy(asc(tiers.createdAt))
      .limit(1)
    expect(rows[0]).toMatchObject({ signInCount: 2, status: 'onboarding', role: 'member', tierId: tier!.id })
    expect(rows[0]!.lastSignInAt).not.toBeNull()
  })

  it('joins the account a parallel sign-up created when its own insert loses the race', async () => {
    const email = uniqueEmail()
    const { body } = await requestCode(email)
    const first = (await (await verify(body!.challengeId, '000000')).json()) as { user: { id: string } }
    // The second sign-up decided the address was new before the first one committed.
    const joined = await signUp(
      s,
      { email, emailDisplay: email, tierId: null },
      { client: 'mobile', ip: uniqueIp() },
    )
    expect(joined.user.id).toBe(first.user.id)
    const me = await api('/api/v1/me', { headers: bearer(joined.accessToken) })
    expect(((await me.json()) as { id: string }).id).toBe(first.user.id)
    const rows = await s.database.db.select().from(users).where(eq(users.email, email))
    expect(rows.map((r) => r.signInCount)).toEqual([2])
  })

  it('refuses disposable addresses for new accounts with 422', async () => {
    const { res } = await requestCode(`someone-${crypto.randomUUID().slice(0, 8)}@mailinator.com`)
    expect(res.status).toBe(422)
    const p = await problem(res)
    expect(p.code).toBe('disposable_email')
    expect(p.errors?.[0]?.path).toBe('json.email')
  })

  it.each([
    ['not an address', { email: 'not-an-email' }, 'json.email'],
    ['a missing field', {}, 'json.email'],
  ])('answers %s with 422 naming the field', async (_name, body, path) => {
    const res = await post('/api/v1/auth/otp', body)
    expect(res.status).toBe(422)
    expect((await problem(res)).errors?.[0]?.path).toBe(path)
  })

  it('answers a wrong content type with 415, malformed JSON with 400 and an oversize body with 413', async () => {
    const at = (init: RequestInit) =>
      api('/api/v1/auth/otp', {
        method: 'POST',
        ...init,
        headers: { 'CF-Connecting-IP': uniqueIp(), ...init.headers },
      })
    const form = await at({
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'email=a@b.co',
    })
    expect(form.status).toBe(415)
    const broken = await at({ headers: { 'content-type': 'application/json' }, body: '{"email":' })
    expect(broken.status).toBe(400)
    const huge = await at({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'x'.repeat(2 * 1024 * 1024) }),
    })
    expect(huge.status).toBe(413)
    expect((await problem(huge)).code).toBe('payload_too_large')
  })

  it('answers a malformed code with 422 and a foreign challenge id with 401', async () => {
    expect((await verify(crypto.randomUUID(), '12ab56')).status).toBe(422)
    const unknown = await verify(crypto.randomUUID(), '123456')
    expect(unknown.status).toBe(401)
  })
})

describe('sign-in rate limits', () => {
  it('allows three code sends a minute per IP, then 429 with Retry-After — a forged X-Forwarded-For does not help', async () => {
    const ip = uniqueIp()
    await clearOfWindowEdge(60, 15_000)
    for (let i = 0; i < 3; i++) {
      const { res } = await requestCode(uniqueEmail(), ip)
      expect(res.status).toBe(201)
      expect(res.headers.get('ratelimit-limit')).toBeTruthy()
    }
    const blocked = await post(
      '/api/v1/auth/otp',
      { email: uniqueEmail() },
      { 'CF-Connecting-IP': ip, 'X-Forwarded-For': uniqueIp() },
    )
    expect(blocked.status).toBe(429)
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(blocked.headers.get('ratelimit-remaining')).toBe('0')
    expect((await problem(blocked)).code).toBe('rate_limited')
  }, 45_000)

  it('allows three code sends a minute per email across IPs', async () => {
    const email = uniqueEmail()
    await clearOfWindowEdge(60, 15_000)
    for (let i = 0; i < 3; i++) expect((await requestCode(email)).res.status).toBe(201)
    expect((await requestCode(email)).res.status).toBe(429)
  }, 45_000)

  it('counts the daily code-check budget over the last 24 hours, not per calendar day', async () => {
    const ip = uniqueIp()
    const budget = s.config.rateLimit.signInAttemptsPerDay
    const day = 86_400_000
    const now = Date.now()
    // This IP spent its whole budget in the previous UTC day (the limiter's own key for that day).
    await s.redis.set(`rl:sign-in-attempt:ip:${ip}:${Math.floor(now / day) - 1}`, budget, { ex: 172_800 })
    // A sliding window still counts the part of that day that lies within the last 24 hours.
    const carried = Math.floor((1 - (now % day) / day) * budget)
    let allowed = 0
    for (; allowed <= budget; allowed++) {
      const res = await verify(crypto.randomUUID(), '123456', {}, ip)
      if (res.status === 429) break
      expect(res.status).toBe(401)
    }
    // (The window moves on while the loop runs, which can free one more.)
    expect(allowed).toBeGreaterThanOrEqual(budget - carried)
    expect(allowed).toBeLessThanOrEqual(budget - carried + 1)
  }, 45_000)
})

describe('tokens', () => {
  it('rotates refresh tokens and ends the session when a used one is replayed', async () => {
    const tokens = await signIn()
    const first = await post('/api/v1/auth/refresh', { refreshToken: tokens.refreshToken })
    expect(first.status).toBe(200)
    const rotated = (await first.json()) as any
    expect(rotated.refreshToken).not.toBe(tokens.refreshToken)
    expect((await api('/api/v1/me', { headers: bearer(rotated.accessToken) })).status).toBe(200)

    const replay = await post('/api/v1/auth/refresh', { refreshToken: tokens.refreshToken })
    expect(replay.status).toBe(401)
    expect((await problem(replay)).code).toBe('refresh_token_reused')
    // The whole session is gone: the newest access and refresh tokens stop working too.
    expect((await api('/api/v1/me', { headers: bearer(rotated.accessToken) })).status).toBe(401)
    expect((await post('/api/v1/auth/refresh', { refreshToken: rotated.refreshToken })).status).toBe(401)
  })

  it('gives web clients the refresh token only as an HttpOnly cookie and rotates it', async () => {
    const email = uniqueEmail()
    const { body } = await requestCode(email)
    const res = await verify(body!.challengeId, '000000', { client: 'web' })
    const json = (await res.json()) as any
    expect(json.refreshToken).toBeUndefined()
    const cookie = res.headers.get('set-cookie')!
    expect(cookie).toMatch(/^refresh_token=[\w-]{43};/)
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('Secure')
    expect(cookie).toContain('SameSite=Lax')
    expect(cookie).toContain('Path=/api/v1')

    const token = /^refresh_token=([\w-]+);/.exec(cookie)![1]
    const refreshed = await api('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { Cookie: `refresh_token=${token}` },
    })
    expect(refreshed.status).toBe(200)
    expect(((await refreshed.json()) as any).refreshToken).toBeUndefined()
    expect(refreshed.headers.get('set-cookie')).not.toContain(token)
  })

  it('refuses a refresh without any token, or with garbage', async () => {
    expect((await api('/api/v1/auth/refresh', { method: 'POST' })).status).toBe(401)
    expect((await post('/api/v1/auth/refresh', { refreshToken: 'x'.repeat(43) })).status).toBe(401)
    expect((await post('/api/v1/auth/refresh', { refreshToken: 'short' })).status).toBe(422)
  })

  it('makes an access token useless the moment its session logs out', async () => {
    const tokens = await signIn()
    expect((await api('/api/v1/me', { headers: bearer(tokens.accessToken) })).status).toBe(200)
    const out = await api('/api/v1/auth/logout', { method: 'POST', headers: bearer(tokens.accessToken) })
    expect(out.status).toBe(204)
    const after = await api('/api/v1/me', { headers: bearer(tokens.accessToken) })
    expect(after.status).toBe(401)
    expect((await post('/api/v1/auth/refresh', { refreshToken: tokens.refreshToken })).status).toBe(401)
  })

  it('lists my sessions and revokes one; another member’s session id is a 404', async () => {
    const email = uniqueEmail()
    const a = await signIn(email)
    const b = await signIn(email)
    const other = await signIn()
    const list = await api('/api/v1/me/sessions', { headers: bearer(a.accessToken) })
    const { data } = (await list.json()) as { data: { id: string; current: boolean }[] }
    expect(data).toHaveLength(2)
    expect(data.filter((d) => d.current)).toHaveLength(1)
    const bSession = data.find((d) => !d.current)!

    const otherList = (await (
      await api('/api/v1/me/sessions', { headers: bearer(other.accessToken) })
    ).json()) as any
    const foreign = await api(`/api/v1/me/sessions/${otherList.data[0].id}`, {
      method: 'DELETE',
      headers: bearer(a.accessToken),
    })
    expect(foreign.status).toBe(404)
    expect((await api('/api/v1/me', { headers: bearer(other.accessToken) })).status).toBe(200)

    const revoked = await api(`/api/v1/me/sessions/${bSession.id}`, {
      method: 'DELETE',
      headers: bearer(a.accessToken),
    })
    expect(revoked.status).toBe(204)
    expect((await api('/api/v1/me', { headers: bearer(b.accessToken) })).status).toBe(401)
    expect((await api('/api/v1/me', { headers: bearer(a.accessToken) })).status).toBe(200)
    expect(
      (await api('/api/v1/me/sessions/not-a-uuid', { method: 'DELETE', headers: bearer(a.accessToken) }))
        .status,
    ).toBe(422)
  })

  it('requires a valid token for /me', async () => {
    expect((await api('/api/v1/me')).status).toBe(401)
    expect((await api('/api/v1/me', { headers: bearer('not.a.jwt') })).status).toBe(401)
  })

  it('keeps at most the configured number of sessions, revoking the least recently used', async () => {
    const base = createServices(env as Env)
    const capped: Services = {
      ...base,
      config: { ...base.config, auth: { ...base.config.auth, maxSessionsPerUser: 2 } },
    }
    const [user] = await insertUsers([{ email: uniqueEmail(), emailDisplay: 'cap@example.com' }])
    const meta = { client: 'mobile' as const, ip: uniqueIp() }
    const first = await startSession(capped, user!, meta)
    const second = await startSession(capped, user!, meta)
    const third = await startSession(capped, user!, meta)
    const status = async (t: { accessToken: string }) =>
      (await api('/api/v1/me', { headers: bearer(t.accessToken) })).status
    expect(await status(first)).toBe(401)
    expect(await status(second)).toBe(200)
    expect(await status(third)).toBe(200)
  })
})

describe('the account cache after signing in', () => {
  it('holds what Postgres holds, for a new member and for one reactivated by signing in', async () => {
    const email = uniqueEmail()
    const first = await signIn(email)
    const fresh = await s.redis.get(accountKey(first.user.id))
    expect(fresh).toEqual(await loadAccountSummary(s, first.user.id))
    expect(fresh).toMatchObject({ status: 'onboarding', tier: expect.any(String) })

    await s.database.db
      .update(users)
      .set({ status: 'deactivated', deactivationReason: 'inactivity', deactivatedAt: new Date() })
      .where(eq(users.id, first.user.id))
    const again = await signIn(email)
    const reactivated = await s.redis.get(accountKey(again.user.id))
    expect(reactivated).toEqual(await loadAccountSummary(s, again.user.id))
    expect(again.user.status).toBe('active')
    expect(reactivated).toMatchObject({ status: 'active' })
  })
})

describe('deactivated accounts', () => {
  it('are reactivated by signing in again', async () => {
    const email = uniqueEmail()
    const tokens = await signIn(email)
    await s.database.db
      .update(users)
      .set({ status: 'deactivated', deactivationReason: 'inactivity', deactivatedAt: new Date() })
      .where(eq(users.id, tokens.user.id))
    const again = await signIn(email)
    expect(again.user).toMatchObject({ id: tokens.user.id, status: 'active' })
    expect(again.needsOnboarding).toBe(false)
    const [row] = await s.database.db.select().from(users).where(eq(users.id, tokens.user.id))
    expect(row!.deactivatedAt).toBeNull()
  })

  it('stay deactivated when an operator deactivated them', async () => {
    const email = uniqueEmail()
    await insertUsers([{ email, emailDisplay: email, status: 'deactivated', deactivationReason: 'admin' }])
    const { body } = await requestCode(email)
    const res = await verify(body!.challengeId, '000000')
    expect(res.status).toBe(403)
  })

  it('cannot sign in as a bot', async () => {
    const email = uniqueEmail()
    await insertUsers([{ email, emailDisplay: email, role: 'bot', status: 'active' }])
    const { body } = await requestCode(email)
    const res = await verify(body!.challengeId, '000000')
    expect(res.status).toBe(403)
  })
})
