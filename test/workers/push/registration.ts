import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { pushTargets } from '../../../src/db/schema'
import { revokeOwnSession, revokeUserSessions } from '../../../src/services/accounts/sessions'
import { account, call } from '../fixtures'
import { allowedEndpoint } from '../../../src/services/push/targets'
import { connect } from '../chat-socket'
import { api, problem, services, tierWithRules } from '../helpers'
import { browserSubscription, expoToken, newSession, sessionOf } from '../push-helpers'
import { inject } from 'vitest'

const s = services()
const tokenPath = (id: string) => `/api/v1/me/sessions/${id}/push-token`
const webPath = (id: string) => `/api/v1/me/sessions/${id}/web-push-subscription`
const targetPath = (id: string) => `/api/v1/me/sessions/${id}/push-target`
const targetOf = async (sessionId: string) =>
  (await s.database.db.select().from(pushTargets).where(eq(pushTargets.sessionId, sessionId)))[0]

describe('Expo push token registration', () => {
  it('registers, replaces, reads and clears the calling session’s token', async () => {
    const me = await account()
    const sid = sessionOf(me.token)
    const first = expoToken()
    const res = await call('PUT', tokenPath(sid), me.token, { token: first })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ sessionId: sid, kind: 'expo', address: first })
    const second = expoToken().replace('Exponent', 'Expo')
    expect((await call('PUT', tokenPath(sid), me.token, { token: second })).status).toBe(200)
    expect((await targetOf(sid))?.address).toBe(second)
    const read = await call('GET', targetPath(sid), me.token)
    expect(await read.json()).toMatchObject({ kind: 'expo', address: second })

    expect((await call('DELETE', targetPath(sid), me.token)).status).toBe(204)
    expect(await targetOf(sid)).toBeUndefined()
    // Idempotent.
    expect((await call('DELETE', targetPath(sid), me.token)).status).toBe(204)
    expect((await call('GET', targetPath(sid), me.token)).status).toBe(404)
  })

  it('moves a token from the session that held it (one device, one token), even across members', async () => {
    const a = await account()
    const b = await account()
    const token = expoToken()
    await call('PUT', tokenPath(sessionOf(a.token)), a.token, { token })
    expect((await call('PUT', tokenPath(sessionOf(b.token)), b.token, { token })).status).toBe(200)
    expect(await targetOf(sessionOf(a.token))).toBeUndefined()
    expect((await targetOf(sessionOf(b.token)))?.userId).toBe(b.id)
  })

  it('401 without a token; 404 for another member’s session or an unknown one; 403 for my other session', async () => {
    const me = await account()
    const other = await account()
    const token = expoToken()
    const anonymous = await call('PUT', tokenPath(sessionOf(me.token)), undefined, { token })
    expect(anonymous.status).toBe(401)
    const foreign = await call('PUT', tokenPath(sessionOf(other.token)), me.token, { token })
    expect(foreign.status).toBe(404)
    expect((await problem(foreign)).code).toBe('not_found')
    expect((await call('DELETE', targetPath(sessionOf(other.token)), me.token)).status).toBe(404)
    expect((await call('GET', targetPath(sessionOf(other.token)), me.token)).status).toBe(404)
    expect((await call('PUT', tokenPath(crypto.randomUUID()), me.token, { token })).status).toBe(404)
    const mine = await newSession(me, 'mobile')
    const sibling = await call('PUT', tokenPath(mine.sessionId), me.token, { token })
    expect(sibling.status).toBe(403)
    expect((await problem(sibling)).code).toBe('forbidden')
    expect(await targetOf(mine.sessionId)).toBeUndefined()
  })

  it('422 on a malformed token or session id; 413 on an oversized body; 409 on a web session', async () => {
    const me = await account()
    const sid = sessionOf(me.token)
    for (const token of ['', 'ExponentPushToken[]', 'hello', 'ExponentPushToken[abc def ghi]', 42]) {
      const res = await call('PUT', tokenPath(sid), me.token, { token })
      expect(res.status, String(token)).toBe(422)
      expect((await problem(res)).errors?.[0]?.path).toMatch(/token/)
    }
    expect((await call('PUT', tokenPath('not-a-uuid'), me.token, { token: expoToken() })).status).toBe(422)
    const big = await call('PUT', tokenPath(sid), me.token, { token: expoToken(), pad: 'x'.repeat(5000) })
    expect(big.status).toBe(413)
    expect((await problem(big)).code).toBe('payload_too_large')
    const web = await newSession(me, 'web')
    const conflict = await call('PUT', tokenPath(web.sessionId), web.token, { token: expoToken() })
    expect(conflict.status).toBe(409)
    expect(await targetOf(web.sessionId)).toBeUndefined()
  })

  it('429 past the tier’s limit for the route', async () => {
    const tier = await tierWithRules('push-rl', [
      { route: 'PUT /api/v1/me/sessions/{id}/push-token', limit: 1 },
    ])
    const me = await account('member', { tierId: tier.id })
    const sid = sessionOf(me.token)
    expect((await call('PUT', tokenPath(sid), me.token, { token: expoToken() })).status).toBe(200)
    const refused = await call('PUT', tokenPath(sid), me.token, { token: expoToken() })
    expect(refused.status).toBe(429)
    expect((await problem(refused)).code).toBe('rate_limited')
  })

  it('drops the token on sign-out, on revocation of every session (ban, deletion, inactivity)', async () => {
    const me = await account()
    const sid = sessionOf(me.token)
    await call('PUT', tokenPath(sid), me.token, { token: expoToken() })
    await revokeOwnSession(s, me.id, sid)
    expect(await targetOf(sid)).toBeUndefined()

    const banned = await account()
    const other = await newSession(banned, 'mobile')
    await call('PUT', tokenPath(sessionOf(banned.token)), banned.token, { token: expoToken() })
    await call('PUT', tokenPath(other.sessionId), other.token, { token: expoToken() })
    await revokeUserSessions(s, banned.id, 'banned')
    expect(await targetOf(sessionOf(banned.token))).toBeUndefined()
    expect(await targetOf(other.sessionId)).toBeUndefined()
  })

  it('drops the token when the account is deleted through the API', async () => {
    const me = await account()
    const sid = sessionOf(me.token)
    await call('PUT', tokenPath(sid), me.token, { token: expoToken() })
    const res = await call('DELETE', '/api/v1/me', me.token)
    expect([200, 204]).toContain(res.status)
    expect(await targetOf(sid)).toBeUndefined()
  })
})

describe('Web Push subscription registration', () => {
  it('registers a browser subscription on a web session and serves the VAPID public key', async () => {
    const key = await api('/api/v1/push/vapid-public-key')
    expect(key.status).toBe(200)
    expect(await key.json()).toEqual({ publicKey: inject('vapidPublicKey') })
    const me = await account()
    const web = await newSession(me, 'web')
    const sub = await browserSubscription()
    const { id: _id, ...body } = sub
    const res = await call('PUT', webPath(web.sessionId), web.token, body)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ kind: 'web', address: sub.endpoint })
    const row = await targetOf(web.sessionId)
    expect(row).toMatchObject({ p256dh: sub.keys.p256dh, auth: sub.keys.auth })
  })

  it('409 on a mobile session; 422 on bad keys or a non-push-service endpoint; 404 for another member', async () => {
    const me = await account()
    const web = await newSession(me, 'web')
    const { id: _id, ...sub } = await browserSubscription()
    expect((await call('PUT', webPath(sessionOf(me.token)), me.token, sub)).status).toBe(409)
    const badKey = await call('PUT', webPath(web.sessionId), web.token, {
      ...sub,
      keys: { ...sub.keys, p256dh: sub.keys.p256dh.slice(0, 40) },
    })
    expect(badKey.status).toBe(422)
    expect((await problem(badKey)).errors?.[0]?.path).toMatch(/p256dh/)
    const badAuth = await call('PUT', webPath(web.sessionId), web.token, {
      ...sub,
      keys: { ...sub.keys, auth: 'AAAA' },
    })
    expect(badAuth.status).toBe(422)
    // Production-like configuration: only the browsers' push services, https only.
    const strict = { ...s.config, push: { ...s.config.push, allowHttpEndpoints: false } }
    expect(allowedEndpoint(strict, 'https://fcm.googleapis.com/fcm/send/abc')).toBe(true)
    expect(allowedEndpoint(strict, 'https://web.push.apple.com/QGx')).toBe(true)
    expect(allowedEndpoint(strict, 'https://attacker.example/collect')).toBe(false)
    expect(allowedEndpoint(strict, 'https://fcm.googleapis.com.attacker.example/x')).toBe(false)
    expect(allowedEndpoint(strict, 'http://127.0.0.1:9/x')).toBe(false)
    expect(allowedEndpoint(s.config, 'http://10.0.0.1/x')).toBe(false)
    const other = await account()
    expect((await call('PUT', webPath(web.sessionId), other.token, sub)).status).toBe(404)
  })
})

describe('push-token frame on the inbox socket', () => {
  it('registers, replaces and clears the socket’s session token; refuses bad tokens and web sessions', async () => {
    const me = await account()
    const sid = sessionOf(me.token)
    const socket = await connect('/api/v1/hub/socket', me.token)
    await socket.next((f) => f.type === 'hello')
    const token = expoToken()
    socket.send({ type: 'push-token', token })
    expect(await socket.next((f) => f.type !== 'presence')).toMatchObject({
      type: 'push-token-registered',
      token,
    })
    expect((await targetOf(sid))?.address).toBe(token)
    socket.send({ type: 'push-token', token: 'not a token' })
    expect(await socket.next((f) => f.type === 'error')).toMatchObject({
      code: 'validation_failed',
      frameType: 'push-token',
      path: 'token',
    })
    expect((await targetOf(sid))?.address).toBe(token)
    socket.send({ type: 'push-token', token: '' })
    expect(await socket.next((f) => f.type === 'push-token-cleared')).toBeDefined()
    expect(await targetOf(sid)).toBeUndefined()
    socket.ws.close()

    const web = await newSession(me, 'web')
    const browser = await connect('/api/v1/hub/socket', web.token)
    await browser.next((f) => f.type === 'hello')
    browser.send({ type: 'push-token', token: expoToken() })
    expect(await browser.next((f) => f.type === 'error')).toMatchObject({
      code: 'conflict',
      frameType: 'push-token',
    })
    expect(await targetOf(web.sessionId)).toBeUndefined()
    browser.ws.close()
  })
})
