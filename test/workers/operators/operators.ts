import { argon2id } from '@noble/hashes/argon2.js'
import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { bans, sessions, users } from '../../../src/db/schema'
import {
  argon2Params,
  checkPasswordStrength,
  hashPassword,
  needsRehash,
  unmatchableHash,
  verifyPassword,
} from '../../../src/services/accounts/password'
import type { Role } from '../../../src/services/accounts/tokens'
import { loginFailureLimits, loginSlowdownMs } from '../../../src/services/accounts/operators'
import { api, problem, services } from '../helpers'
import { insertUsers } from '../fixtures'

const s = services()
/** Every login runs the KDF (a few hundred ms of CPU each); the rate-limit tests run eleven. */
const kdfTimeout = 60_000
const password = 'Tr0ub4dor & horse staple'
let passwordHash: string

/** A client IP of its own for each call, so rate-limit counters never leak between tests. */
const uniqueIp = () =>
  `2001:db8:${[...crypto.getRandomValues(new Uint16Array(3))].map((n) => n.toString(16)).join(':')}::7`

beforeAll(async () => {
  // One hash for every fixture: each run of the KDF costs about half a second.
  passwordHash = await hashPassword(password)
}, kdfTimeout)

async function createUser(
  opts: { role?: Role; hash?: string | null; status?: 'onboarding' | 'active' | 'deactivated' } = {},
) {
  const tag = crypto.randomUUID().replaceAll('-', '').slice(0, 12)
  const [user] = await insertUsers([
    {
      email: `op-${tag}@example.org`,
      emailDisplay: `Op-${tag}@Example.org`,
      username: `op_${tag}`,
      name: `Operator ${tag}`,
      role: opts.role ?? 'admin',
      status: opts.status ?? 'active',
      passwordHash: opts.hash === undefined ? passwordHash : opts.hash,
    },
  ])
  return user!
}

function login(username: string, pw: string, ip = uniqueIp()) {
  return api('/api/v1/login', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'CF-Connecting-IP': ip,
      'User-Agent': 'operators-test',
    },
    body: new URLSearchParams({ username, password: pw }),
  })
}

function refreshCookie(res: Response): string | undefined {
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('refresh_token='))
  return cookie?.slice('refresh_token='.length).split(';')[0]
}

const refresh = (token?: string) =>
  api('/api/v1/refresh', {
    method: 'POST',
    headers: { 'CF-Connecting-IP': uniqueIp(), ...(token ? { Cookie: `refresh_token=${token}` } : {}) },
  })

/** 200 when the token authenticates an operator route, 401 when it does not. */
const probe = (accessToken: string) =>
  api('/api/v1/admin/bans?items_per_page=1', { headers: { Authorization: `Bearer ${accessToken}` } })

describe('POST /api/v1/login', { timeout: kdfTimeout }, () => {
  it('signs an operator in with a form-encoded username and password', async () => {
    const admin = await createUser()
    const res = await login(admin.username!, password)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = (await res.json()) as Record<string, unknown>
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: 1800 })

    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('refresh_token='))!
    expect(cookie).toMatch(/HttpOnly/i)
    expect(cookie).toMatch(/Secure/i)
    expect(cookie).toMatch(/SameSite=Lax/i)
    expect(cookie).toMatch(/Path=\/api\/v1/)
    expect((await probe(body.access_token as string)).status).toBe(200)

    const [row] = await s.database.db.select().from(users).where(eq(users.id, admin.id))
    expect(row!.signInCount).toBe(1)
    expect(row!.lastSignInAt).toBeInstanceOf(Date)
    const [session] = await s.database.db.select().from(sessions).where(eq(sessions.userId, admin.id))
    expect(session).toMatchObject({ client: 'web', device: 'operators-test' })
  })

  it('takes an email address (any case, padded) in the username field', async () => {
    const moderator = await createUser({ role: 'moderator' })
    const res = await login(`  ${moderator.emailDisplay.toUpperCase()} `, password)
    expect(res.status).toBe(200)
  })

  it('answers a wrong password, an unknown user and a member without password with the same 401', async () => {
    const admin = await createUser()
    const member = await createUser({ role: 'member', hash: null })
    // One after another: each runs the KDF, and an isolate runs at most three at once.
    const answers: Response[] = []
    for (const [username, pw] of [
      [admin.username!, 'not the password at all'],
      [`nobody_${crypto.randomUUID().slice(0, 8)}`, password],
      [`nobody-${crypto.randomUUID().slice(0, 8)}@example.org`, password],
      [member.username!, password],
    ]) {
      answers.push(await login(username!, pw!))
    }
    const bodies = await Promise.all(answers.map(problem))
    for (const [i, res] of answers.entries()) {
      expect(res.status).toBe(401)
      expect(bodies[i]).toMatchObject({ code: 'unauthorized', detail: 'Wrong username, email or password.' })
      expect(res.headers.getSetCookie()).toEqual([])
    }
  })

  it('refuses a JSON body with 415 and a missing field with 422', async () => {
    const json = await api('/api/v1/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'CF-Connecting-IP': uniqueIp() },
      body: JSON.stringify({ username: 'admin', password }),
    })
    expect(json.status).toBe(415)
    expect((await problem(json)).code).toBe('unsupported_media_type')

    const missing = await api('/api/v1/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'CF-Connecting-IP': uniqueIp() },
      body: new URLSearchParams({ username: 'admin' }),
    })
    expect(missing.status).toBe(422)
    expect((await problem(missing)).errors?.map((e) => e.path)).toEqual(['form.password'])
  })

  it('refuses bots (403) even with the right password, but says 401 to a wrong one', async () => {
    const bot = await createUser({ role: 'bot' })
    const right = await login(bot.username!, password)
    expect(right.status).toBe(403)
    expect((await problem(right)).code).toBe('forbidden')
    expect((await login(bot.username!, 'wrong password here')).status).toBe(401)
  })

  it('refuses a deactivated operator and one whose email is banned', async () => {
    const deactivated = await createUser({ status: 'deactivated' })
    expect((await login(deactivated.username!, password)).status).toBe(403)
    const banned = await createUser()
    await s.database.db.insert(bans).values({ kind: 'email', value: banned.email, reason: 'test' })
    const res = await login(banned.username!, password)
    expect(res.status).toBe(403)
    expect((await problem(res)).code).toBe('banned')
  })

  it('refuses an account from one IP after 5 failures there, but not the right password from another IP', async () => {
    const admin = await createUser()
    const guesser = uniqueIp()
    for (let i = 0; i < 5; i++) {
      expect((await login(admin.username!, `wrong password ${i}`, guesser)).status).toBe(401)
    }
    // The guesser is refused, even when it finally has the password…
    const limited = await login(admin.email, password, guesser)
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await problem(limited)).code).toBe('rate_limited')
    // …while the operator, from an IP that has not failed, signs in.
    expect((await login(admin.username!, password)).status).toBe(200)
  })

  it('does not let failures from many IPs lock the operator out: past the ceiling it slows, never refuses', async () => {
    const admin = await createUser()
    // Failures spread over many IPs, as a distributed attack would: none of them trips a limit.
    for (let i = 0; i < 6; i++) {
      expect((await login(admin.username!, `wrong password ${i}`)).status).toBe(401)
    }
    // The account's counter already at the slow-down ceiling (as after 100 distributed failures).
    await s.redis.set(`login:fail:account:user:${admin.id}`, loginFailureLimits.perAccountBeforeSlowdown, {
      ex: 900,
    })
    const started = Date.now()
    const res = await login(admin.username!, password)
    expect(res.status).toBe(200)
    expect(Date.now() - started).toBeGreaterThanOrEqual(loginSlowdownMs - 50)
    // A wrong guess is slowed as much and answered 401, not 429.
    expect((await login(admin.username!, 'still wrong')).status).toBe(401)
  })

  it('does not count successful sign-ins', async () => {
    const admin = await createUser()
    const ip = uniqueIp()
    for (let i = 0; i < 7; i++) expect((await login(admin.username!, password, ip)).status).toBe(200)
  })

  it('limits failures per client IP across usernames', async () => {
    const ip = uniqueIp()
    const nobody = () => `nobody_${crypto.randomUUID().slice(0, 8)}`
    // Two usernames, one counter for the IP.
    for (let i = 0; i < 2; i++) expect((await login(nobody(), password, ip)).status).toBe(401)
    expect(Number(await s.redis.get(`login:fail:ip:${ip}`))).toBe(2)
    // Each failure costs a KDF run (0.5 s of CPU here): rather than 30 of them, the counter is
    // set to one short of the limit, as earlier failures would have left it, and one more failure
    // reaches it.
    await s.redis.set(`login:fail:ip:${ip}`, loginFailureLimits.perIp - 1, { keepTtl: true })
    expect((await login(nobody(), password, ip)).status).toBe(401)
    const admin = await createUser()
    const limited = await login(admin.username!, password, ip)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/)
  })

  it('upgrades a hash made with older parameters on the next successful login', async () => {
    // A valid hash at a much lower cost, as an older Rapport might have stored it.
    const salt = new TextEncoder().encode('0123456789abcdef')
    const digest = argon2id(new TextEncoder().encode(password), salt, { m: 64, t: 1, p: 1, dkLen: 32 })
    const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/=+$/, '')
    const lowCost = `$argon2id$v=19$m=64,t=1,p=1$${b64(salt)}$${b64(digest)}`
    expect(await verifyPassword(password, lowCost)).toBe(true)
    expect(needsRehash(lowCost)).toBe(true)

    const admin = await createUser({ hash: lowCost })
    expect((await login(admin.username!, password)).status).toBe(200)
    const [row] = await s.database.db.select().from(users).where(eq(users.id, admin.id))
    expect(row!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    expect(needsRehash(row!.passwordHash!)).toBe(false)
    expect((await login(admin.username!, password)).status).toBe(200)
  })
})

describe('POST /api/v1/refresh', { timeout: kdfTimeout }, () => {
  it('rotates the cookie; replaying the old one ends the session and its access tokens', async () => {
    const admin = await createUser()
    const signedIn = await login(admin.username!, password)
    const first = refreshCookie(signedIn)!
    const { access_token: firstAccess } = (await signedIn.json()) as { access_token: string }

    const rotated = await refresh(first)
    expect(rotated.status).toBe(200)
    expect(rotated.headers.get('cache-control')).toBe('no-store')
    const second = refreshCookie(rotated)!
    expect(second).toBeTruthy()
    expect(second).not.toBe(first)
    const { access_token: secondAccess, token_type } = (await rotated.json()) as Record<string, string>
    expect(token_type).toBe('bearer')
    expect((await probe(secondAccess!)).status).toBe(200)

    const replay = await refresh(first)
    expect(replay.status).toBe(401)
    expect((await problem(replay)).code).toBe('refresh_token_reused')
    expect(refreshCookie(replay)).toBe('')
    // The whole session is gone: both access tokens and the newer refresh token.
    expect((await probe(firstAccess)).status).toBe(401)
    expect((await probe(secondAccess!)).status).toBe(401)
    expect((await refresh(second)).status).toBe(401)
  })

  it('answers 401 without a cookie, and with an unknown one', async () => {
    const missing = await refresh()
    expect(missing.status).toBe(401)
    expect((await problem(missing)).detail).toBe('Refresh token missing.')
    expect((await refresh('x'.repeat(43))).status).toBe(401)
  })
})

describe('POST /api/v1/logout', { timeout: kdfTimeout }, () => {
  it('revokes the session at once and clears the cookie', async () => {
    const admin = await createUser()
    const signedIn = await login(admin.username!, password)
    const cookie = refreshCookie(signedIn)!
    const { access_token } = (await signedIn.json()) as { access_token: string }

    const res = await api('/api/v1/logout', {
      method: 'POST',
      headers: { Authorization: `Bearer ${access_token}`, Cookie: `refresh_token=${cookie}` },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ message: 'Logged out successfully' })
    expect(res.headers.getSetCookie().find((c) => c.startsWith('refresh_token='))).toMatch(/Max-Age=0/)

    expect((await probe(access_token)).status).toBe(401)
    expect((await refresh(cookie)).status).toBe(401)
  })

  it('needs a bearer token', async () => {
    const res = await api('/api/v1/logout', { method: 'POST' })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toContain('Bearer')
  })
})

describe('the OpenAPI document', () => {
  it('lists the operator routes with their form body and error responses', async () => {
    const doc = (await (await api('/openapi.json')).json()) as any
    const loginOp = doc.paths['/api/v1/login'].post
    expect(Object.keys(loginOp.requestBody.content)).toEqual(['application/x-www-form-urlencoded'])
    expect(Object.keys(loginOp.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '429']))
    expect(doc.paths['/api/v1/refresh'].post).toBeDefined()
    expect(doc.paths['/api/v1/logout'].post.security).toEqual([{ bearerAuth: [] }])
  })
})

describe('password hashing', { timeout: kdfTimeout }, () => {
  it('hashes to a self-describing PHC string and verifies only the right password', async () => {
    expect(passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
    expect(await verifyPassword(password, passwordHash)).toBe(true)
    expect(await verifyPassword(password + ' ', passwordHash)).toBe(false)
    expect(await verifyPassword('', passwordHash)).toBe(false)
    // Fresh salt every time.
    expect(await hashPassword(password)).not.toBe(passwordHash)
  })

  it('normalises Unicode, so composed and decomposed accents are one password', async () => {
    const stored = await hashPassword('Crème brûlée au café')
    expect(await verifyPassword('Cre\u0300me bru\u0302le\u0301e au cafe\u0301', stored)).toBe(true)
  })

  it('treats malformed, foreign or absurd hashes as no match, and the timing dummy as unmatchable', async () => {
    for (const bad of [
      '',
      'plain',
      '$2b$12$abcdefghijklmnopqrstuuJ0pM1pA8b5s8Hk3Nn1M1o2pQ3r4s5t6', // bcrypt
      '$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA',
      '$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA',
      '$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA', // 4 GiB
      '$argon2id$v=19$m=19456,t=1000,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA',
    ]) {
      expect(await verifyPassword(password, bad)).toBe(false)
      expect(needsRehash(bad)).toBe(true)
    }
    expect(needsRehash(unmatchableHash)).toBe(false)
    expect(await verifyPassword('', unmatchableHash)).toBe(false)
    expect(await verifyPassword(password, unmatchableHash)).toBe(false)
  })

  it('needs a rehash when the parameters differ from the current ones', () => {
    expect(needsRehash(passwordHash)).toBe(false)
    const stronger = passwordHash.replace(`m=${argon2Params.m}`, `m=${argon2Params.m * 2}`)
    expect(needsRehash(stronger)).toBe(true)
    const fewerPasses = passwordHash.replace(`t=${argon2Params.t}`, 't=1')
    expect(needsRehash(fewerPasses)).toBe(true)
  })

  it('prints the CPU cost of one hash and one verification in workerd (informational)', async () => {
    const runs = 3
    const time = async (fn: () => Promise<unknown>) => {
      const samples: number[] = []
      for (let i = 0; i < runs; i++) {
        const start = performance.now()
        await fn()
        samples.push(performance.now() - start)
      }
      return samples.sort((a, b) => a - b)[Math.floor(runs / 2)]!.toFixed(0)
    }
    const hashMs = await time(() => hashPassword(password))
    const verifyMs = await time(() => verifyPassword(password, passwordHash))
    console.log(
      `argon2id m=${argon2Params.m} KiB t=${argon2Params.t} p=${argon2Params.p}: ` +
        `hash ${hashMs} ms, verify ${verifyMs} ms (median of ${runs}, workerd)`,
    )
  })
})

describe('checkPasswordStrength', () => {
  it.each([
    ['short1!A', 'at least 12'],
    ['x'.repeat(129), 'at most 128'],
    ['aaaaaaaaaaaaaaaa', 'repeats'],
    ['abcabcabcabcabc', 'repeats'],
    ['123456789012', 'one kind of character'],
    ['kqzvbnwotmrx', 'one kind of character'],
    ['Password2024!', 'common password'],
    ['P@ssw0rd12345', 'common password'],
    ['Qwerty123456!', 'common password'],
    ['Welcome1234!!', 'common password'],
    ['iloveyou2023?', 'common password'],
    ['Summer2025!!abc', 'common password'],
    ['abcdefghijklmnop', 'common password'],
  ])('rejects %j (%s)', (pw, problemText) => {
    const problems = checkPasswordStrength(pw)
    expect(problems.join(' | ')).toContain(problemText)
  })

  it('rejects passwords built from the account’s own name, username or email', () => {
    const context = {
      username: 'marguerite',
      email: 'marguerite.dubois@example.org',
      name: 'Marguerite Dubois',
    }
    expect(checkPasswordStrength('Marguerite2024!', context)).not.toEqual([])
    expect(checkPasswordStrength('dubois-marguerite', context)).not.toEqual([])
  })

  it.each([
    'correct horse battery staple',
    'kx9#Lm2!vQ7p',
    'Tr0ub4dor & horse staple',
    'ilovedonuts but not on mondays',
    'vingt-trois rue des écoles',
    'ein Passwort, das lang genug ist',
  ])('accepts %j', (pw) => {
    expect(checkPasswordStrength(pw)).toEqual([])
  })
})
