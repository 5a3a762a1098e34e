import { SignJWT, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose'
import { and, asc, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { answers, bans, memberClubs, questions, socialIdentities, users } from '../../../src/db/schema'
import { sha256Hex } from '../../../src/lib/crypto'
import { normalizeEmail } from '../../../src/services/accounts/email'
import {
  testAppleClientIds,
  testAppleRedirectUrl,
  testGoogleClientIds,
  testJwtSecret,
} from '../../support/constants'
import { bearer, post, signIn, uniqueEmail, uniqueIp } from '../auth-helpers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import worker from '../../../src/index'
import { account } from '../fixtures'
import { api, envWith, origin, problem, services } from '../helpers'

declare module 'vitest' {
  export interface ProvidedContext {
    idpUrl: string
  }
}

const s = services()
const db = s.database.db

/** A token from the local OpenID provider; `claims` override (null removes a claim). */
async function mint(provider: 'google' | 'apple', claims: Record<string, unknown> = {}, expiresIn?: number) {
  const res = await fetch(`${inject('idpUrl')}/__fake/tokens`, {
    method: 'POST',
    body: JSON.stringify({ provider, claims, expiresIn }),
  })
  if (!res.ok) throw new Error(`token mint failed: ${res.status}`)
  return ((await res.json()) as { token: string }).token
}

const uniqueSub = () => `sub-${crypto.randomUUID()}`
const gmail = () => `jane.${crypto.randomUUID().slice(0, 8)}@gmail.com`

interface Tokens {
  accessToken: string
  refreshToken: string
  needsOnboarding: boolean
  user: { id: string; status: string }
}

const google = (body: Record<string, unknown>, ip = uniqueIp()) =>
  post('/api/v1/auth/google', body, { 'CF-Connecting-IP': ip })
const apple = (body: Record<string, unknown>, ip = uniqueIp()) =>
  post('/api/v1/auth/apple', body, { 'CF-Connecting-IP': ip })

const identityRows = (subject: string) =>
  db.select().from(socialIdentities).where(eq(socialIdentities.subject, subject))
const usersWithEmail = (email: string) =>
  db
    .select()
    .from(users)
    .where(eq(users.email, normalizeEmail(email)))

/** A random nonce and the SHA-256 (hex) an app hands Apple. */
async function nonce() {
  const raw = `nonce-${crypto.randomUUID()}`
  return { raw, hashed: await sha256Hex(raw) }
}

describe('Sign in with Google', () => {
  it('creates a member who starts onboarding, links the Google account, and issues the token pair', async () => {
    const sub = uniqueSub()
    const email = gmail()
    const res = await google({ idToken: await mint('google', { sub, email }) })
    expect(res.status).toBe(200)
    const body = (await res.json()) as Tokens
    expect(body).toMatchObject({ tokenType: 'Bearer', needsOnboarding: true, user: { status: 'onboarding' } })
    expect(body.refreshToken).toEqual(expect.any(String))
    const [link] = await identityRows(sub)
    expect(link).toMatchObject({ provider: 'google', userId: body.user.id, email })
    const me = await api('/api/v1/me', { headers: bearer(body.accessToken) })
    expect(me.status).toBe(200)
    // The refresh token rotates like the email flow's.
    const refreshed = await post('/api/v1/auth/refresh', { refreshToken: body.refreshToken })
    expect(refreshed.status).toBe(200)
  })

  it('finds the linked member by (provider, subject) even after the email changed at Google', async () => {
    const sub = uniqueSub()
    const first = (await (
      await google({ idToken: await mint('google', { sub, email: gmail() }) })
    ).json()) as Tokens
    const changed = await google({ idToken: await mint('google', { sub, email: gmail() }) })
    expect(changed.status).toBe(200)
    expect(((await changed.json()) as Tokens).user.id).toBe(first.user.id)
    expect(await identityRows(sub)).toHaveLength(1)
  })

  it('links an existing member by verified email (auto-link), accepting the iOS client id', async () => {
    const email = uniqueEmail()
    const member = await signIn(email)
    const sub = uniqueSub()
    const res = await google({
      idToken: await mint('google', { sub, email, aud: testGoogleClientIds[1] }),
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as Tokens).user.id).toBe(member.user.id)
    expect((await identityRows(sub))[0]?.userId).toBe(member.user.id)
  })

  it('applies quiz answers and the pending club as email sign-in does', async () => {
    const [q] = await db.select({ id: questions.id }).from(questions).orderBy(asc(questions.id)).limit(1)
    const club = `google club ${crypto.randomUUID().slice(0, 8)}`
    const res = await google({
      idToken: await mint('google', { sub: uniqueSub(), email: gmail() }),
      answers: [{ questionId: q!.id, answer: true, public: true }],
      pendingClub: club,
    })
    expect(res.status).toBe(200)
    const { user } = (await res.json()) as Tokens
    const stored = await db.select().from(answers).where(eq(answers.userId, user.id))
    expect(stored.map((a) => [a.questionId, a.answer])).toEqual([[q!.id, true]])
    const [membership] = await db.select().from(memberClubs).where(eq(memberClubs.userId, user.id))
    expect(membership?.clubName).toBe(club)
  })

  it('answers 409 for an unverified email and writes nothing', async () => {
    const sub = uniqueSub()
    const email = gmail()
    const res = await google({ idToken: await mint('google', { sub, email, email_verified: false }) })
    expect(res.status).toBe(409)
    expect((await problem(res)).code).toBe('email_not_verified')
    expect(await identityRows(sub)).toEqual([])
    expect(await usersWithEmail(email)).toEqual([])
  })

  it('never links an unverified email to an existing member', async () => {
    const email = uniqueEmail()
    const member = await signIn(email)
    const sub = uniqueSub()
    const res = await google({ idToken: await mint('google', { sub, email, email_verified: false }) })
    expect(res.status).toBe(409)
    expect(await identityRows(sub)).toEqual([])
    expect((await usersWithEmail(email))[0]?.id).toBe(member.user.id)
  })

  const refused: [string, () => Promise<string>][] = [
    ['a wrong audience', () => mint('google', { aud: 'someone-else.apps.googleusercontent.com' })],
    ['a wrong issuer', () => mint('google', { iss: 'https://accounts.example.com' })],
    ['an expired token', () => mint('google', {}, -600)],
    [
      'alg none',
      async () => {
        const [, payload] = (await mint('google')).split('.')
        const header = btoa(JSON.stringify({ alg: 'none', typ: 'JWT' })).replace(/=+$/, '')
        return `${header}.${payload}.`
      },
    ],
    ['a key of another issuer', () => signedByStranger(false)],
    ['a forged signature under the real key id', () => signedByStranger(true)],
    ['a token of the Apple shape', () => mint('apple', { aud: testGoogleClientIds[0] })],
    ['garbage', async () => 'not.a.jwt'],
  ]

  /** A well-formed Google-shaped token signed by a key that is not Google's. */
  async function signedByStranger(reuseKid: boolean) {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
    const kid = reuseKid
      ? decodeProtectedHeader(await mint('google')).kid!
      : (await exportJWK(publicKey)).n!.slice(0, 16)
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT({ email: gmail(), email_verified: true })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer('https://accounts.google.com')
      .setAudience(testGoogleClientIds[0]!)
      .setSubject(uniqueSub())
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey)
  }

  it.each(refused)('refuses %s with 401 invalid_id_token and writes nothing', async (_, token) => {
    const before = await db.$count(socialIdentities)
    const usersBefore = await db.$count(users)
    const res = await google({ idToken: await token() })
    expect(res.status).toBe(401)
    const p = await problem(res)
    expect(p.code).toBe('invalid_id_token')
    expect(p.errors?.[0]?.path).toBe('json.idToken')
    expect(await db.$count(socialIdentities)).toBe(before)
    expect(await db.$count(users)).toBe(usersBefore)
  })

  it('applies the disposable-email rule to new members (422) and bans (403)', async () => {
    const disposable = await google({
      idToken: await mint('google', {
        sub: uniqueSub(),
        email: `x-${crypto.randomUUID().slice(0, 8)}@mailinator.com`,
      }),
    })
    expect(disposable.status).toBe(422)
    expect((await problem(disposable)).code).toBe('disposable_email')

    const email = gmail()
    await db.insert(bans).values({ kind: 'email', value: normalizeEmail(email), reason: 'spam' })
    const sub = uniqueSub()
    const banned = await google({ idToken: await mint('google', { sub, email }) })
    expect(banned.status).toBe(403)
    expect((await problem(banned)).code).toBe('banned')
    expect(await identityRows(sub)).toEqual([])
    expect(await usersWithEmail(email)).toEqual([])
  })

  it("keeps Google's keys once fetched: later sign-ins and refusals do not refetch them", async () => {
    const fetches = async () =>
      (
        (await (await fetch(`${inject('idpUrl')}/__fake/stats`)).json()) as {
          jwksFetches: { google: number }
        }
      ).jwksFetches.google
    expect(
      (await google({ idToken: await mint('google', { sub: uniqueSub(), email: gmail() }) })).status,
    ).toBe(200)
    const before = await fetches()
    expect(before).toBeGreaterThanOrEqual(1)
    await Promise.all(
      [0, 1, 2].map(async () =>
        expect(
          (await google({ idToken: await mint('google', { sub: uniqueSub(), email: gmail() }) })).status,
        ).toBe(200),
      ),
    )
    expect((await google({ idToken: await mint('google', {}, -600) })).status).toBe(401)
    expect(await fetches()).toBe(before)
  })

  it('refuses operator accounts (403): they sign in with their password', async () => {
    const admin = await account('admin', { username: `idp_admin_${crypto.randomUUID().slice(0, 8)}` })
    const sub = uniqueSub()
    const res = await google({ idToken: await mint('google', { sub, email: admin.email }) })
    expect(res.status).toBe(403)
    expect(await identityRows(sub)).toEqual([])
  })

  it('answers 503 when no client ids are configured', async () => {
    const ctx = createExecutionContext()
    const res = await worker.fetch(
      new Request(`${origin}/api/v1/auth/google`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'CF-Connecting-IP': uniqueIp() },
        body: JSON.stringify({ idToken: await mint('google') }),
      }),
      envWith({ GOOGLE_CLIENT_IDS: '' }),
      ctx,
    )
    await waitOnExecutionContext(ctx)
    expect(res.status).toBe(503)
    expect((await problem(res)).code).toBe('service_unavailable')
  })

  it('refuses a body without a token (422)', async () => {
    const res = await google({ client: 'mobile' })
    expect(res.status).toBe(422)
    expect((await problem(res)).errors?.[0]?.path).toBe('json.idToken')
  })

  it('shares the 40/day per-IP sign-in budget with email code checks (429)', async () => {
    const ip = uniqueIp()
    const fake = crypto.randomUUID()
    for (let i = 0; i < 20; i++) {
      expect(
        (
          await post(
            '/api/v1/auth/otp/verify',
            { challengeId: fake, code: '123456' },
            { 'CF-Connecting-IP': ip },
          )
        ).status,
      ).toBe(401)
    }
    for (let i = 0; i < 20; i++) expect((await google({ idToken: 'x.y.z' }, ip)).status).toBe(401)
    const limited = await apple({ identityToken: 'x.y.z', nonce: 'n'.repeat(16) }, ip)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/)
    expect((await problem(limited)).code).toBe('rate_limited')
  })
})

describe('Sign in with Apple (native)', () => {
  it('accepts the hashed nonce form and a private-relay email', async () => {
    const n = await nonce()
    const sub = uniqueSub()
    const email = `${crypto.randomUUID().slice(0, 10)}@privaterelay.appleid.com`
    const res = await apple({
      identityToken: await mint('apple', { sub, email, nonce: n.hashed }),
      nonce: n.raw,
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as Tokens
    expect(body.needsOnboarding).toBe(true)
    expect((await usersWithEmail(email))[0]?.id).toBe(body.user.id)
    expect((await identityRows(sub))[0]).toMatchObject({ provider: 'apple', userId: body.user.id })
  })

  it('accepts a nonce passed through unhashed', async () => {
    const n = await nonce()
    const res = await apple({ identityToken: await mint('apple', { nonce: n.raw }), nonce: n.raw })
    expect(res.status).toBe(200)
  })

  it('refuses a wrong nonce, a missing one, and a wrong audience with 401, writing nothing', async () => {
    const n = await nonce()
    for (const [claims, path] of [
      [{ nonce: (await nonce()).hashed }, 'json.nonce'],
      [{ nonce: null }, 'json.nonce'],
      [{ nonce: n.hashed, aud: 'app.someone.else' }, 'json.idToken'],
      [{ nonce: n.hashed, iss: 'https://accounts.google.com' }, 'json.idToken'],
    ] as const) {
      const sub = uniqueSub()
      const res = await apple({ identityToken: await mint('apple', { ...claims, sub }), nonce: n.raw })
      expect(res.status).toBe(401)
      const p = await problem(res)
      expect(p.code).toBe('invalid_id_token')
      expect(p.errors?.[0]?.path).toBe(path)
      expect(await identityRows(sub)).toEqual([])
    }
  })

  it('answers 409 when Apple has not verified the email', async () => {
    const n = await nonce()
    const email = `${crypto.randomUUID().slice(0, 10)}@icloud.com`
    const res = await apple({
      identityToken: await mint('apple', { email, email_verified: 'false', nonce: n.hashed }),
      nonce: n.raw,
    })
    expect(res.status).toBe(409)
    expect((await problem(res)).code).toBe('email_not_verified')
    expect(await usersWithEmail(email)).toEqual([])
  })

  it('refuses a nonce shorter than 16 characters (422)', async () => {
    const res = await apple({ identityToken: await mint('apple'), nonce: 'short' })
    expect(res.status).toBe(422)
    expect((await problem(res)).errors?.[0]?.path).toBe('json.nonce')
  })
})

describe('Sign in with Apple (web, form_post)', () => {
  async function start(redirectUrl = testAppleRedirectUrl) {
    return post('/api/v1/auth/apple/web', { redirectUrl })
  }
  function callback(fields: Record<string, string>) {
    return api('/api/v1/auth/apple/callback', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'CF-Connecting-IP': uniqueIp() },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    })
  }

  it('redirects to the allowed URL with the token pair in the fragment', async () => {
    const started = await start()
    expect(started.status).toBe(201)
    const { state, nonce: webNonce } = (await started.json()) as { state: string; nonce: string }
    const sub = uniqueSub()
    const idToken = await mint('apple', { sub, aud: testAppleClientIds[1], nonce: webNonce })
    const res = await callback({
      state,
      id_token: idToken,
      code: 'c0de',
      user: JSON.stringify({
        name: { firstName: 'Ada', lastName: 'L' },
        email: 'x@privaterelay.appleid.com',
      }),
    })
    expect(res.status).toBe(302)
    const location = new URL(res.headers.get('location')!)
    expect(`${location.origin}${location.pathname}`).toBe(testAppleRedirectUrl)
    const fragment = new URLSearchParams(location.hash.slice(1))
    expect(fragment.get('needs_onboarding')).toBe('true')
    const me = await api('/api/v1/me', { headers: bearer(fragment.get('access_token')!) })
    expect(me.status).toBe(200)
    expect(((await me.json()) as { name: string }).name).toBe('Ada')
    expect(await identityRows(sub)).toHaveLength(1)
  })

  it('refuses to start a flow for a URL that is not allowed (422)', async () => {
    const res = await start('https://evil.example/steal')
    expect(res.status).toBe(422)
    expect((await problem(res)).errors?.[0]?.path).toBe('json.redirectUrl')
  })

  it('answers a forged state or one naming a non-allowed URL with 400 and no redirect', async () => {
    const now = Math.floor(Date.now() / 1000)
    const signState = (url: string, secret: string) =>
      new SignJWT({ url, nonce: 'n'.repeat(32) })
        .setProtectedHeader({ alg: 'HS256' })
        .setAudience('rapport-apple-web-state')
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(new TextEncoder().encode(secret))
    const sub = uniqueSub()
    for (const state of [
      await signState(testAppleRedirectUrl, 'apple-state:not-the-server-secret-0123456789abcdef'),
      await signState('https://evil.example/steal', `apple-state:${testJwtSecret}`),
      'garbage',
    ]) {
      const res = await callback({ state, id_token: await mint('apple', { sub, nonce: 'n'.repeat(32) }) })
      expect(res.status).toBe(400)
      expect(res.headers.get('location')).toBeNull()
      expect((await problem(res)).code).toBe('invalid_state')
    }
    expect(await identityRows(sub)).toEqual([])
  })

  it('limits callbacks per IP and day in a scope of their own (429)', async () => {
    const ip = uniqueIp()
    const form = (state: string) =>
      api('/api/v1/auth/apple/callback', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'CF-Connecting-IP': ip },
        body: new URLSearchParams({ state }).toString(),
        redirect: 'manual',
      })
    for (let i = 0; i < 40; i++) expect((await form('garbage')).status).toBe(400)
    const limited = await form('garbage')
    expect(limited.status).toBe(429)
    expect((await problem(limited)).code).toBe('rate_limited')
    // The native sign-in budget of that IP is untouched.
    expect((await apple({ identityToken: 'x.y.z', nonce: 'n'.repeat(16) }, ip)).status).toBe(401)
  })

  it('sends Apple errors and refused tokens back to the client as #error', async () => {
    const { state } = (await (await start()).json()) as { state: string }
    const cancelled = await callback({ state, error: 'user_cancelled_authorize' })
    expect(cancelled.status).toBe(302)
    expect(new URL(cancelled.headers.get('location')!).hash).toBe('#error=user_cancelled_authorize')
    const sub = uniqueSub()
    const wrongNonce = await callback({
      state,
      id_token: await mint('apple', { sub, nonce: 'another-nonce-value-123' }),
    })
    expect(wrongNonce.status).toBe(302)
    expect(new URL(wrongNonce.headers.get('location')!).hash).toBe('#error=invalid_id_token')
    expect(await identityRows(sub)).toEqual([])
  })
})

describe('sign-in methods', () => {
  it('lists the email and linked providers, and unlinks one (then 404)', async () => {
    const email = gmail()
    const signedIn = (await (
      await google({ idToken: await mint('google', { sub: uniqueSub(), email }) })
    ).json()) as Tokens
    const auth = bearer(signedIn.accessToken)
    const issued = await api('/api/v1/me/export-token', { method: 'POST', headers: auth })
    expect(issued.status).toBe(201)
    const exported = (await (
      await api(`/api/v1/me/export/${((await issued.json()) as { token: string }).token}`)
    ).json()) as {
      linkedAccounts: { provider: string; email: string }[]
    }
    expect(exported.linkedAccounts).toMatchObject([{ provider: 'google', email }])
    const listed = await api('/api/v1/me/sign-in-methods', { headers: auth })
    expect(listed.status).toBe(200)
    expect(await listed.json()).toMatchObject({
      email: { address: email, usable: true },
      providers: [{ provider: 'google', email }],
    })
    expect((await api('/api/v1/me/sign-in-methods/google', { method: 'DELETE', headers: auth })).status).toBe(
      204,
    )
    expect(
      ((await (await api('/api/v1/me/sign-in-methods', { headers: auth })).json()) as { providers: [] })
        .providers,
    ).toEqual([])
    const again = await api('/api/v1/me/sign-in-methods/google', { method: 'DELETE', headers: auth })
    // The data export lists linked accounts while they are linked; none remain now.
    const issuedAfter = await api('/api/v1/me/export-token', { method: 'POST', headers: auth })
    const after = (await (
      await api(`/api/v1/me/export/${((await issuedAfter.json()) as { token: string }).token}`)
    ).json()) as { linkedAccounts: unknown[] }
    expect(after.linkedAccounts).toEqual([])
    expect(again.status).toBe(404)
    expect((await problem(again)).code).toBe('not_found')
  })

  it('refuses to unlink the last way in of a private-relay member (409)', async () => {
    const n = await nonce()
    const sub = uniqueSub()
    const signedIn = (await (
      await apple({ identityToken: await mint('apple', { sub, nonce: n.hashed }), nonce: n.raw })
    ).json()) as Tokens
    const res = await api('/api/v1/me/sign-in-methods/apple', {
      method: 'DELETE',
      headers: bearer(signedIn.accessToken),
    })
    expect(res.status).toBe(409)
    expect((await problem(res)).code).toBe('last_sign_in_method')
    expect(
      await db
        .select()
        .from(socialIdentities)
        .where(and(eq(socialIdentities.userId, signedIn.user.id), eq(socialIdentities.provider, 'apple'))),
    ).toHaveLength(1)
  })

  it('needs a signed-in caller (401) and a known provider (422)', async () => {
    expect((await api('/api/v1/me/sign-in-methods')).status).toBe(401)
    expect((await api('/api/v1/me/sign-in-methods/google', { method: 'DELETE' })).status).toBe(401)
    const { accessToken } = await signIn()
    const res = await api('/api/v1/me/sign-in-methods/facebook', {
      method: 'DELETE',
      headers: bearer(accessToken),
    })
    expect(res.status).toBe(422)
  })
})
