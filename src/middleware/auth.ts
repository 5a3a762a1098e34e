import type { Context, MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import { matchedRoutes } from 'hono/route'
import { decodeJwt } from 'jose'
import { ApiError } from '../lib/http/errors'
import { describeError, everyInterval } from '../lib/log'
import { errorResponses } from '../lib/http/openapi'
import { registerRouteTemplate } from '../lib/http/route-templates'
import { verifyAccessToken } from '../services/accounts/tokens'
import {
  type AccountSummary,
  type AuthState,
  cacheAccount,
  loadAccountSummary,
  readAuthState,
} from '../services/accounts/account-cache'
import { type LimitDecision, consumeLimit, limitHeaders } from '../services/platform/rate-limit'
import { limitFor } from '../services/platform/rate-limit-rules'
import { isSessionLiveInDatabase, remarkSessionLive } from '../services/accounts/sessions'
import type { AppEnv, AuthedEnv, Caller } from '../types'

/**
 * Who the caller is, and whether they may make this request now: authentication and the global
 * tier × route rate limit, owned together because they share one Redis round trip.
 *
 * The limit's identity must be the member when the request is authenticated and the limit must be
 * their tier's, but authentication is route middleware (`requireAuth`), so a global `app.use`
 * would run before anyone is known. Instead {@link limitedRoute} (applied by `createRouter()` to
 * every route it registers) puts two middlewares around a route's own:
 *
 * 1. {@link refuseWhileBlocked}, first: an identity this isolate has already refused for the
 *    route is refused again from memory until its window resets — no Redis call at all, not even
 *    the authentication one. It reads the token's `sub` *without* verifying it: a forged `sub`
 *    can only get its sender refused, never someone else, and an unblocked forged token goes on
 *    to `requireAuth` and fails there.
 * 2. {@link tierRateLimit}, last (after auth, before validation and the handler). When the route
 *    authenticated the caller, `requireAuth` has already counted the request in its own pipeline
 *    (revocation marker, live-session marker, account summary and the limit script, one fetch),
 *    under the tier the token names, and left the settled decision in the context; it is used when
 *    that tier is still the account's. Otherwise (anonymous callers by IP, a tier changed since the
 *    token was issued, Redis fallback) the request is counted here, one round trip.
 *
 * Everything shared between requests here is settled data: the rule cache holds loaded rows, the
 * block list holds numbers, and the pipeline a request counts its limit in is its own.
 *
 * Consequences, accepted: requests refused by auth (401/403) are not counted — they never reach a
 * handler, and counting them would cost the same Redis call the refusal costs. Paths no route
 * matches (404) are not counted either. On routes without `requireAuth` the identity is the client
 * IP even when a token is sent, since nothing there checks the token.
 */

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

// ---------------------------------------------------------------------------------------------
// Route templates and the in-memory block list

/**
 * Never limited: health checks and the API docs (probes and humans reading docs), and public
 * media. Media keys are unguessable and immutable, each costs one R2 read, and a page of profiles
 * loads dozens at once — a per-IP budget sized for API calls would break browsing (and everyone
 * behind one NAT), while counting each would add a Redis round trip to every image.
 */
export function isRateLimitExempt(path: string): boolean {
  return /^\/(health|docs|openapi\.json|media)(\/|$)/.test(path)
}

const templates = new WeakMap<object, string>()
const openApiPath = (path: string) => path.replace(/:([A-Za-z_][\w-]*)/g, '{$1}')

/**
 * The matched route as a template in the OpenAPI spelling (`GET /api/v1/x/{id}`). HEAD requests
 * are served by GET routes and count as GET.
 */
export function routeTemplate(c: Context<AppEnv>): string {
  const route = matchedRoutes(c)[c.req.routeIndex]
  if (route && route.method !== 'ALL') {
    // A matched route's template never changes: computed once per route per isolate.
    let template = templates.get(route)
    if (template === undefined) {
      template = `${route.method.toUpperCase()} ${openApiPath(route.path)}`
      templates.set(route, template)
    }
    return template
  }
  const method = c.req.method === 'HEAD' ? 'GET' : c.req.method
  return `${method.toUpperCase()} ${openApiPath(route?.path ?? c.req.path)}`
}

interface Block {
  until: number
  limit: number
}

/**
 * Identities refused per route, until their window resets. Bounded: past 10,000 entries the
 * expired ones are dropped, and if that is not enough the map starts over (a refused identity
 * then costs one Redis call again, nothing worse).
 */
const blocks = new Map<string, Block>()
const maxBlocks = 10_000

function block(identity: string, route: string, decision: LimitDecision): void {
  if (blocks.size >= maxBlocks) {
    const now = Date.now()
    for (const [key, b] of blocks) if (b.until <= now) blocks.delete(key)
    if (blocks.size >= maxBlocks) blocks.clear()
  }
  blocks.set(`${identity} ${route}`, { until: decision.reset, limit: decision.limit })
}

function activeBlock(identity: string, route: string, now: number): Block | undefined {
  const key = `${identity} ${route}`
  const b = blocks.get(key)
  if (b && b.until <= now) blocks.delete(key)
  return b && b.until > now ? b : undefined
}

function tooMany(route: string, headers: Record<string, string>): ApiError {
  return new ApiError(
    'rate_limited',
    `Too many requests for ${route}; retry after ${headers['Retry-After']} s`,
    { headers },
  )
}

function unverifiedSubject(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')
  if (!match) return undefined
  try {
    const { sub } = decodeJwt(match[1]!)
    return typeof sub === 'string' ? sub : undefined
  } catch {
    return undefined
  }
}

/** Refuse, from memory, an identity already refused for this route in this isolate. */
export const refuseWhileBlocked = createMiddleware<AppEnv>(async (c, next) => {
  if (blocks.size > 0) {
    const route = routeTemplate(c)
    const now = Date.now()
    const sub = unverifiedSubject(c.req.header('authorization'))
    // Which of the two the limiter used depends on whether the route authenticates; only the
    // one it used can be blocked, so checking both is exact.
    const b =
      (sub ? activeBlock(`user:${sub}`, route, now) : undefined) ??
      activeBlock(`ip:${c.get('clientIp')}`, route, now)
    if (b) {
      const retryAfter = String(Math.max(1, Math.ceil((b.until - now) / 1000)))
      throw tooMany(route, {
        'RateLimit-Limit': String(b.limit),
        'RateLimit-Remaining': '0',
        'RateLimit-Reset': retryAfter,
        'Retry-After': retryAfter,
      })
    }
  }
  await next()
})

// ---------------------------------------------------------------------------------------------
// Authentication

const redisFallbackLog = everyInterval(60_000)

/**
 * Whether the session is live and who the caller is now. One Redis round trip when the session
 * is marked live and the account summary is cached; Postgres when either is missing (then cached
 * for the next requests), and for both answers when Redis is down. The route's rate limit rides
 * in the same round trip, counted under the tier the token names.
 */
async function resolveCaller(
  c: Context<AppEnv>,
  userId: string,
  sessionId: string,
  tierHint: string | null,
): Promise<AccountSummary | null> {
  const s = c.get('services')
  let limit: { rule: Awaited<ReturnType<typeof limitFor>>; identity: string } | undefined
  let route: string | undefined
  if (!isRateLimitExempt(c.req.path)) {
    route = routeTemplate(c)
    limit = { rule: await limitFor(s, tierHint, route), identity: `user:${userId}` }
  }
  let state: AuthState | undefined
  try {
    state = await readAuthState(s, sessionId, userId, limit)
  } catch (err) {
    if (redisFallbackLog()) s.log.warn('auth.redis_fallback', { error: describeError(err) })
  }
  if (state?.limit && route && limit) {
    c.set('countedLimit', { route, tierId: tierHint, identity: limit.identity, decision: state.limit })
  }
  if (state?.revoked) return null
  if (state?.known) {
    if (state.cached) return state.cached
    const loaded = await loadAccountSummary(s, userId)
    if (loaded) c.executionCtx.waitUntil(cacheAccount(s, loaded))
    return loaded
  }
  // Redis cannot vouch for the session (no marker, or no answer): Postgres decides, in parallel
  // with the account when that was not cached either.
  const [live, account] = await Promise.all([
    isSessionLiveInDatabase(s, sessionId),
    state?.cached ?? loadAccountSummary(s, userId),
  ])
  if (!live) return null
  if (state) {
    c.executionCtx.waitUntil(remarkSessionLive(s, sessionId))
    if (account && !state.cached) c.executionCtx.waitUntil(cacheAccount(s, account))
  }
  return account
}

/**
 * Require a valid access token for a live session of an existing account; sets `caller` and
 * `account`. The role comes from the account (so a demotion applies within the cache TTL), not
 * from the token. Failures are a uniform 401 with `WWW-Authenticate: Bearer`, never saying which
 * check failed.
 */
const authenticate = createMiddleware<AppEnv>(async (c, next) => {
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

/** {@link authenticate}, typed with what it guarantees the handlers after it: `caller` and `account` are set. */
export const requireAuth = authenticate as MiddlewareHandler<AuthedEnv>

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
  return authenticate(c, next)
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

// ---------------------------------------------------------------------------------------------
// The tier × route limit

/**
 * Keep the tighter of two RateLimit-* sets: a route with its own limit (sign-in, export tokens)
 * already put one on the response, and a client should see whichever runs out first.
 */
function mergeLimitHeaders(target: Headers, ours: Record<string, string>): void {
  const theirs = target.get('RateLimit-Remaining')
  if (theirs !== null && Number(theirs) <= Number(ours['RateLimit-Remaining'])) return
  for (const [name, value] of Object.entries(ours)) target.set(name, value)
}

/**
 * Count the request against the caller's tier limit for the route template: the member (with
 * their tier's rule, or the defaults) when the route authenticated them, else the client IP (with
 * the defaults). 429 with `Retry-After` when exhausted; RateLimit-* headers on every response.
 */
export const tierRateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const s = c.get('services')
  const route = routeTemplate(c)
  const caller = c.get('caller')
  const identity = caller ? `user:${caller.userId}` : `ip:${c.get('clientIp')}`
  const tierId = caller ? (c.get('account')?.tierId ?? null) : null
  const counted = c.get('countedLimit')
  const decision =
    counted && counted.route === route && counted.identity === identity && counted.tierId === tierId
      ? counted.decision
      : await consumeLimit(s, await limitFor(s, tierId, route), identity)
  const headers = limitHeaders([decision])
  if (!decision.success) {
    block(identity, route, decision)
    throw tooMany(route, headers)
  }
  await next()
  // 101: a WebSocket handshake answered by a Durable Object, whose headers are immutable.
  if (c.res.status !== 429 && c.res.status !== 101) mergeLimitHeaders(c.res.headers, headers)
})

/**
 * A route definition with the tier × route limit around its own middleware (the block check
 * first, the counting limiter after authentication) and the 429 it can answer documented.
 * Exempt paths come back unchanged.
 *
 * @example
 * router.openapi(limitedRoute(route), handler)
 */
export function limitedRoute<
  R extends { method: string; path: string; middleware?: unknown; responses: object },
>(route: R): R {
  if (isRateLimitExempt(route.path)) return route
  registerRouteTemplate(route.method, route.path)
  const own = route.middleware === undefined ? [] : [route.middleware].flat()
  return {
    ...route,
    middleware: [refuseWhileBlocked, ...own, tierRateLimit],
    responses: { ...errorResponses(429), ...route.responses },
  }
}
