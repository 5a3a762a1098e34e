import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { matchedRoutes } from 'hono/route'
import { decodeJwt } from 'jose'
import { ApiError } from '../lib/http/errors'
import { type LimitDecision, consumeLimit, limitHeaders } from '../services/rate-limit'
import { limitFor } from '../services/rate-limit-rules'
import type { AppEnv } from '../types'

/**
 * The global tier × route rate limit (DESIGN.md §3: auth → rate limit → handler).
 *
 * Where it runs, and why. The identity must be the member when the request is authenticated and
 * the limit must be their tier's, but authentication is route middleware (`requireAuth`), so a
 * global `app.use` would run before anyone is known. The tier lives in the account summary,
 * which `requireAuth` already reads in its one Redis round trip; reading it again in a global
 * middleware would cost a second round trip on every request. So `createRouter()` (src/lib/http/router.ts)
 * adds two middlewares to every route it registers:
 *
 * 1. {@link refuseWhileBlocked}, first: an identity this isolate has already refused for the
 *    route is refused again from memory until its window resets — no Redis call at all, not even
 *    the authentication one. It reads the token's `sub` *without* verifying it: a forged `sub`
 *    can only get its sender refused, never someone else, and an unblocked forged token goes on
 *    to `requireAuth` and fails there.
 * 2. {@link tierRateLimit}, last (after auth, before validation and the handler): the limit for
 *    the caller's tier and the route template, counted with one Redis round trip
 *    (`consumeLimit`, which also keeps @upstash/ratelimit's ephemeral block cache and the
 *    fail-open/fail-closed policy). The rule itself comes from an isolate cache
 *    (src/services/rate-limit-rules.ts), so Postgres is read at most once a minute per tier.
 *
 * Consequences, accepted: requests refused by auth (401/403) are not counted — they never reach a
 * handler, and counting them would cost the same Redis call the refusal costs. Paths no route
 * matches (404) are not counted either. On routes without `requireAuth` the identity is the client
 * IP even when a token is sent, since nothing there checks the token.
 */

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
    {
      headers,
    },
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

/**
 * Refuse, from memory, an identity already refused for this route in this isolate. Registered
 * before a route's own middleware by `createRouter()`.
 */
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
  const pre = c.get('preLimit')
  // Counted already by requireAuth, in its Redis round trip, when the token's tier is still the
  // account's; otherwise (tier changed since the token was issued, Redis fallback) count here.
  const decision =
    pre && pre.route === route && pre.identity === identity && pre.tierId === tierId
      ? await pre.decision
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
