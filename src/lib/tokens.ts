import { type JWTPayload, jwtVerify } from 'jose'
import type { Config } from '../config'

export interface AccessClaims extends JWTPayload {
  sub: string
  sid: string
  role: 'member' | 'moderator' | 'admin' | 'bot'
  token_type: 'access'
}

const encoder = new TextEncoder()
const keys = new Map<string, Uint8Array>()
const keyFor = (secret: string) => {
  let key = keys.get(secret)
  if (!key) keys.set(secret, (key = encoder.encode(secret)))
  return key
}

/**
 * Verify an access token: signature with the configured HMAC algorithm only (RFC 8725 §3.1 —
 * jose would otherwise accept any algorithm applicable to the key), issuer, audience, expiry,
 * and `token_type: "access"` so a refresh or export token can never pass as an access token.
 * Throws on any failure; callers map that to 401.
 */
export async function verifyAccessToken(token: string, jwt: Config['jwt']): Promise<AccessClaims> {
  const { payload } = await jwtVerify(token, keyFor(jwt.secret), {
    algorithms: [jwt.algorithm],
    issuer: jwt.issuer,
    audience: jwt.audience,
    requiredClaims: ['sub', 'sid', 'exp', 'iat', 'jti'],
    clockTolerance: 5,
  })
  if (payload.token_type !== 'access') throw new Error('not an access token')
  if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string') throw new Error('malformed claims')
  const role = payload.role ?? 'member'
  if (role !== 'member' && role !== 'moderator' && role !== 'admin' && role !== 'bot')
    throw new Error('bad role')
  return { ...payload, role } as AccessClaims
}
