import { describe, expect, it } from 'vitest'
import { accessToken, api, problem } from '../helpers'
import { signIn } from '../auth-helpers'
import { connect } from '../chat-socket'

/** A real member with a live session: requireAuth refuses tokens for accounts that do not exist. */
const member = async () => {
  const t = await signIn()
  return { userId: t.user.id, token: t.accessToken }
}

describe('hub socket', () => {
  it('accepts an authenticated upgrade, greets, answers ping and rejects unknown frames', async () => {
    const { userId, token } = await member()
    const { ws, next } = await connect('/api/v1/hub/socket', token)
    expect(await next()).toMatchObject({ type: 'hello', userId, devices: 1 })
    ws.send('{"type":"ping"}')
    expect(await next()).toEqual({ type: 'pong' })
    ws.send('{"type":"teleport"}')
    expect(await next()).toEqual({ type: 'error', code: 'bad_request', frameType: 'teleport' })
    ws.send('not json')
    expect(await next()).toEqual({ type: 'error', code: 'malformed_body' })
    ws.close(1000, 'done')
  })

  it('accepts the token as a bearer.<token> subprotocol and answers with rapport.v1', async () => {
    const { token } = await member()
    const res = await api('/api/v1/hub/socket', {
      headers: { Upgrade: 'websocket', 'Sec-WebSocket-Protocol': `rapport.v1, bearer.${token}` },
    })
    expect(res.status).toBe(101)
    expect(res.headers.get('sec-websocket-protocol')).toBe('rapport.v1')
    res.webSocket!.accept()
    res.webSocket!.close()
  })
})

describe('conversation socket', () => {
  it('puts both members in one object and tells each about the other', async () => {
    const { userId: alice, token: aliceToken } = await member()
    const { userId: bob, token: bobToken } = await member()
    const a = await connect(`/api/v1/conversations/${bob}/socket`, aliceToken)
    expect(await a.next()).toMatchObject({ type: 'hello', userId: alice, connected: [alice] })
    const b = await connect(`/api/v1/conversations/${alice}/socket`, bobToken)
    expect((await b.next()).connected).toEqual(expect.arrayContaining([alice, bob]))
    expect(await a.next((f) => f.type === 'presence')).toEqual({
      type: 'presence',
      userId: bob,
      status: 'online',
    })
    b.ws.close(1000, 'bye')
    expect(await a.next((f) => f.type === 'presence')).toEqual({
      type: 'presence',
      userId: bob,
      status: 'recently-online',
    })
    a.ws.close()
  })

  it('refuses a conversation with oneself and a malformed peer id with 422', async () => {
    const { userId: me, token } = await member()
    const headers = { Upgrade: 'websocket', Authorization: `Bearer ${token}` }
    const self = await api(`/api/v1/conversations/${me}/socket`, { headers })
    expect(self.status).toBe(422)
    expect((await problem(self)).errors?.[0]?.path).toBe('param.peerId')
    const bad = await api('/api/v1/conversations/not-a-uuid/socket', { headers })
    expect(bad.status).toBe(422)
  })

  it('answers a plain GET with 426', async () => {
    const res = await api(`/api/v1/conversations/${crypto.randomUUID()}/socket`, {
      headers: { Authorization: `Bearer ${(await member()).token}` },
    })
    expect(res.status).toBe(426)
    expect((await problem(res)).code).toBe('upgrade_required')
  })
})

describe('socket authentication', () => {
  const path = '/api/v1/hub/socket'
  const upgrade = (token?: string) =>
    api(path, { headers: { Upgrade: 'websocket', ...(token ? { Authorization: `Bearer ${token}` } : {}) } })
  const unsigned = (claims: object) => {
    const b64 = (o: object) =>
      btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
    return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`
  }

  it.each([
    ['no token', async () => undefined],
    ['a well-signed token for an account that does not exist', () => accessToken()],
    [
      'a token signed with another key',
      () => accessToken({}, { secret: 'another-secret-another-secret-0000' }),
    ],
    ['a token for another audience', () => accessToken({ aud: 'someone-else' })],
    ['an expired token', () => accessToken({}, { expiresIn: '-1m' })],
    ['a refresh token', () => accessToken({ token_type: 'refresh' })],
    ['a token with another algorithm', () => accessToken({}, { alg: 'HS512' })],
    [
      'an alg:none token',
      async () =>
        unsigned({
          sub: crypto.randomUUID(),
          sid: 's',
          token_type: 'access',
          iss: 'rapport',
          aud: 'rapport-api',
          iat: Math.floor(Date.now() / 1000),
          exp: Math.floor(Date.now() / 1000) + 600,
          jti: 'j',
        }),
    ],
  ])('rejects %s with 401', async (_name, make) => {
    const res = await upgrade(await make())
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toContain('Bearer')
    expect((await problem(res)).code).toBe('unauthorized')
  })
})
