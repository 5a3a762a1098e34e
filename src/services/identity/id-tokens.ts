import {
  type JWKSCacheInput,
  type JWTPayload,
  createRemoteJWKSet,
  customFetch,
  errors as joseErrors,
  jwksCache,
  jwtVerify,
} from 'jose'
import { ApiError } from '../../lib/http/errors'
import { sha256Hex } from '../../lib/crypto'
import type { Services } from '..'

/**
 * Verification of Google ID tokens and Apple identity tokens: RS256 signatures against the
 * provider's published keys, issuer, audience (one of the operator's client ids), expiry, and for
 * Apple the nonce. The key-set URLs come from configuration, so tests and `npm run dev` point the
 * same code at the local OpenID provider; nothing is skipped locally.
 */

export type Provider = 'google' | 'apple'

/** What a verified token says about the person. */
export interface VerifiedIdentity {
  provider: Provider
  subject: string
  email: string | null
  emailVerified: boolean
}

/**
 * Keys are cached per isolate as settled values only: jose's `jwksCache` object receives the key
 * set once a fetch has completed (`{uat, jwks}`), and each request builds its own remote key set
 * seeded from it, so no fetch started by one request is ever awaited by another. The cache lives
 * as long as the provider's `Cache-Control: max-age` says (10 minutes when it says nothing); a
 * token signed by a key not in the cache refetches once, at most every 30 seconds (key rotation).
 */
interface KeyCache {
  cache: JWKSCacheInput | Record<string, never>
  maxAgeMs: number
}
const keyCaches = new Map<string, KeyCache>()
const defaultMaxAgeMs = 10 * 60_000
const maxMaxAgeMs = 24 * 3600_000

function keySet(url: string) {
  let entry = keyCaches.get(url)
  if (!entry) {
    entry = { cache: {}, maxAgeMs: defaultMaxAgeMs }
    keyCaches.set(url, entry)
  }
  const settled = entry
  return createRemoteJWKSet(new URL(url), {
    [jwksCache]: settled.cache as JWKSCacheInput,
    cacheMaxAge: settled.maxAgeMs,
    cooldownDuration: 30_000,
    timeoutDuration: 5_000,
    [customFetch]: async (input: string | URL | Request, init?: RequestInit) => {
      const res = await fetch(input, init)
      const maxAge = /max-age=(\d+)/i.exec(res.headers.get('cache-control') ?? '')?.[1]
      if (res.ok && maxAge) settled.maxAgeMs = Math.min(Number(maxAge) * 1000, maxMaxAgeMs)
      return res
    },
  })
}

const truthy = (v: unknown) => v === true || v === 'true'

async function verify(
  s: Services,
  token: string,
  opts: { url: string; issuer: string | string[]; audience: string[]; provider: Provider },
): Promise<JWTPayload> {
  if (opts.audience.length === 0) {
    throw new ApiError(
      'service_unavailable',
      `Sign in with ${opts.provider} is not configured on this server`,
    )
  }
  try {
    const { payload } = await jwtVerify(token, keySet(opts.url), {
      issuer: opts.issuer,
      audience: opts.audience,
      algorithms: ['RS256'],
      clockTolerance: 30,
      requiredClaims: ['sub', 'exp', 'iat'],
    })
    return payload
  } catch (err) {
    if (err instanceof joseErrors.JOSEError && !isKeyFetchFailure(err)) {
      s.log.info('identity.token_rejected', { provider: opts.provider, reason: err.code })
      // jose's messages name the failed check ("exp" claim, signature, unknown key, alg).
      throw new ApiError('invalid_id_token', `Token refused: ${err.message}`, {
        errors: [{ path: 'json.idToken', message: err.message }],
      })
    }
    s.log.error('identity.keys_unavailable', { provider: opts.provider, error: String(err) })
    throw new ApiError('service_unavailable', `${opts.provider}'s keys are unreachable; try again`, {
      cause: err,
    })
  }
}

function isKeyFetchFailure(err: joseErrors.JOSEError) {
  return err instanceof joseErrors.JWKSTimeout || err.code === 'ERR_JOSE_GENERIC'
}

function identity(provider: Provider, payload: JWTPayload): VerifiedIdentity {
  const email = typeof payload.email === 'string' && payload.email.length <= 254 ? payload.email : null
  return {
    provider,
    subject: String(payload.sub),
    email,
    emailVerified: email !== null && truthy(payload.email_verified),
  }
}

/**
 * Verify a Google ID token: RS256 by a key in Google's key set, `iss` Google's, `aud` one of
 * GOOGLE_CLIENT_IDS, unexpired.
 *
 * @example
 * const who = await verifyGoogleIdToken(s, body.idToken) // { subject, email, emailVerified, … }
 */
export async function verifyGoogleIdToken(s: Services, token: string): Promise<VerifiedIdentity> {
  const { google } = s.config.identity
  const payload = await verify(s, token, {
    url: google.jwksUrl,
    issuer: google.issuers,
    audience: google.clientIds,
    provider: 'google',
  })
  return identity('google', payload)
}

/**
 * Verify an Apple identity token and its nonce. Apple's documented practice: the app hands
 * Apple the SHA-256 (hex) of a random nonce and keeps the raw value, so the token carries the
 * hash and the server receives the raw nonce; clients that pass the nonce through unhashed put
 * the raw value in the token. Exactly those two forms match; a token without a nonce does not.
 *
 * @example
 * const who = await verifyAppleIdentityToken(s, body.identityToken, body.nonce)
 */
export async function verifyAppleIdentityToken(
  s: Services,
  token: string,
  nonce: string,
  path = 'json.nonce',
): Promise<VerifiedIdentity> {
  const { apple } = s.config.identity
  const payload = await verify(s, token, {
    url: apple.jwksUrl,
    issuer: apple.issuer,
    audience: apple.clientIds,
    provider: 'apple',
  })
  const claim = payload.nonce
  if (typeof claim !== 'string' || (claim !== nonce && claim !== (await sha256Hex(nonce)))) {
    s.log.info('identity.token_rejected', { provider: 'apple', reason: 'nonce' })
    throw new ApiError('invalid_id_token', 'Not issued for this nonce', {
      errors: [{ path, message: 'does not match the token' }],
    })
  }
  return identity('apple', payload)
}
