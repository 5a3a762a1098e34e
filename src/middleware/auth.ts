import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { ApiError } from '../lib/http/errors'
import { verifyAccessToken } from '../services/accounts/tokens'
import {
  type AccountSummary,
  cacheAccount,
  loadAccountSummary,
  readAuthState,
} from '../services/accounts/account-cache'
import { limitFor } from '../services/rate-limit-rules'
import { isSessionRevokedInDatabase } from '../services/accounts/sessions'
import { isRateLimitExempt, routeTemplate } from './tier-rate-limit'
import type { AppEnv, Caller } from '../types'

/** WebSocket clients in browsers cannot set headers, so they offer `bearer.<token>` as a subprotocol. */
export const bearerSubprotocolPrefix = 'bearer.'

function bearerToken(headers: Headers): string | undefined {
  const authorization = headers.get('authorization')
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization)
    return match?.[1]
  }
  if (headers.get('upgrade')?.toLowerCase() === 'websocket') {
    const offered = (headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim())
    return offered.find((p) => p.startsWith(bearerSubprotocolPrefix))?.slice(bearerSubprotocolPrefix.length)
  }
  return undefined
}

const challenge = { 'WWW-Authenticate': 'Bearer realm="rapport"' }
const unauthorized = (detail: string) => new ApiError('unauthorized', detail, { headers: challenge })

/**
 * Whether the session is live and who the caller is now. One Redis round trip when the account
 * summary is cached; Postgres when it is not (then cached for the next requests), and for both
 * answers when Redis is down.
 */
async function resolveCaller(
  c: Context<AppEnv>,
  userId: string,
  sessionId: string,
  tierHint: string | null,
): Promise<AccountSummary | null> {
  const s = c.get('services')
  try {
    // The route's rate limit rides in the same round trip, counted under the tier the token
    // names (tierRateLimit recounts in the rare case the account's tier has changed since).
    let limit: Parameters<typeof readAuthState>[3]
    let route: string | undefined
    if (!isRateLimitExempt(c.req.path)) {
      route = routeTemplate(c)
      limit = { rule: await limitFor(s, tierHint, route), identity: `user:${userId}` }
    }
    const state = await readAuthState(s, sessionId, userId, limit)
    if (state.limit && route && limit) {
      c.set('preLimit', { route, tierId: tierHint, identity: limit.identity, decision: state.limit })
    }
    const { revoked, cached } = state
    if (revoked) return null
    if (cached) return cached
    const loaded = await loadAccountSummary(s, userId)
    if (loaded) c.executionCtx.waitUntil(cacheAccount(s, loaded))
    return loaded
  } catch (err) {
    s.log.warn('auth.redis_fallback', { error: String(err) })
    if (await isSessionRevokedInDatabase(s, sessionId)) return null
    return loadAccountSummary(s, userId)
  }
}

/**
 * Require a valid access token for a live session of an existing account; sets `caller` and
 * `account`. The role comes from the account (so a demotion applies within the cache TTL), not
 * from the token. Failures are a uniform 401 with `WWW-Authenticate: Bearer`, never saying which
 * check failed.
 */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.raw.headers)
  if (!token) throw unauthorized('An access token is required')
  let claims
  try {
    claims = await verifyAccessToken(token, c.get('services').config.jwt)
  } catch {
    throw unauthorized('The access token is invalid or expired')
  }
  const account = await resolveCaller(c, claims.sub, claims.sid, claims.tier ?? null)
  if (!account) throw unauthorized('The session has ended; sign in again')
  c.set('account', account)
  c.set('caller', { userId: account.id, sessionId: claims.sid, role: account.role })
  await next()
})

/**
 * Authenticate when the request carries a token, else go on anonymously (for pages anonymous
 * visitors may see, like public profiles). A token that is present but invalid is still a 401:
 * silently treating a signed-out client as anonymous would hide the problem from it.
 *
 * @example
 * middleware: [optionalAuth] as const
 */
export const optionalAuth = createMiddleware<AppEnv>(async (c, next) => {
  if (!bearerToken(c.req.raw.headers)) return next()
  return requireAuth(c, next)
})

/**
 * Require one of `roles` (after requireAuth). Members asking for operator routes get 403.
 *
 * @example
 * middleware: [requireAuth, requireRole('admin', 'moderator')]
 */
export function requireRole(...roles: Caller['role'][]) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const caller = c.get('caller')
    if (!caller) throw new ApiError('unauthorized', 'An access token is required')
    if (!roles.includes(caller.role)) throw new ApiError('forbidden', 'You do not have enough privileges')
    await next()
  })
}
