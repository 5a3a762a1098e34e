import { type JWTPayload, SignJWT, jwtVerify } from 'jose'
import type { Config } from '../../config'

import type { Role } from '../../db/schema'

export type { Role }

export interface AccessClaims extends JWTPayload {
  sub: string
  sid: string
  role: Role
  token_type: 'access'
  /**
   * The account's tier when the token was issued: a hint that lets authentication count the
   * tier's rate limit in the same Redis round trip as the revocation check. The account summary
   * stays the authority; a stale hint (tier changed since) only costs a second round trip.
   */
  tier?: string | null
}

const encoder = new TextEncoder()
const keys = new Map<string, CryptoKey>()

/**
 * The HMAC key as a CryptoKey, imported once per secret and algorithm per isolate. Handing jose
 * raw bytes would re-import the key on every sign and verify, on the hot path of every request.
 * Only the imported key is kept, never the import's promise: a request must not await work
 * another request started. Two requests importing at once both import; either result is the same.
 */
async function keyFor(jwt: Config['jwt']): Promise<CryptoKey> {
  const id = `${jwt.algorithm}:${jwt.secret}`
  let key = keys.get(id)
  if (!key) {
    const hash = `SHA-${jwt.algorithm.slice(2)}`
    key = await crypto.subtle.importKey('raw', encoder.encode(jwt.secret), { name: 'HMAC', hash }, false, [
      'sign',
      'verify',
    ])
    keys.set(id, key)
  }
  return key
}

/**
 * Sign an access token for a session. `token_type: "access"` and the audience keep any other
 * token Rapport signs from being accepted in its place.
 *
 * @example
 * const { token, expiresIn } = await signAccessToken(config.jwt, { userId, sessionId, role: 'member' }, new Date())
 */
export async function signAccessToken(
  jwt: Config['jwt'],
  subject: { userId: string; sessionId: string; role: Role; tierId?: string | null },
  now: Date,
): Promise<{ token: string; expiresIn: number }> {
  const iat = Math.floor(now.getTime() / 1000)
  const token = await new SignJWT({
    sid: subject.sessionId,
    role: subject.role,
    tier: subject.tierId ?? null,
    token_type: 'access',
  })
    .setProtectedHeader({ alg: jwt.algorithm, typ: 'JWT' })
    .setSubject(subject.userId)
    .setIssuer(jwt.issuer)
    .setAudience(jwt.audience)
    .setIssuedAt(iat)
    .setJti(crypto.randomUUID())
    .setExpirationTime(iat + jwt.accessTtlSeconds)
    .sign(await keyFor(jwt))
  return { token, expiresIn: jwt.accessTtlSeconds }
}

/**
 * Verify an access token: signature with the configured HMAC algorithm only (RFC 8725 §3.1 —
 * jose would otherwise accept any algorithm applicable to the key), issuer, audience, expiry,
 * and `token_type: "access"` so a refresh or export token can never pass as an access token.
 * Throws on any failure; callers map that to 401. Revocation is checked separately.
 */
export async function verifyAccessToken(token: string, jwt: Config['jwt']): Promise<AccessClaims> {
  const { payload } = await jwtVerify(token, await keyFor(jwt), {
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
  const tier = typeof payload.tier === 'string' ? payload.tier : null
  return { ...payload, role, tier } as AccessClaims
}
