import { createMiddleware } from 'hono/factory'
import { ApiError } from '../lib/errors'
import { verifyAccessToken } from '../lib/tokens'
import { isSessionRevoked } from '../services/sessions'
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

/**
 * Require a valid, unrevoked access token and set `caller`. Revocation costs one Redis GET.
 * Failures are a uniform 401 with `WWW-Authenticate: Bearer`, never saying which check failed.
 */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.raw.headers)
  const challenge = { 'WWW-Authenticate': 'Bearer realm="rapport"' }
  if (!token) throw new ApiError('unauthorized', 'An access token is required', { headers: challenge })
  let claims
  try {
    claims = await verifyAccessToken(token, c.get('services').config.jwt)
  } catch {
    throw new ApiError('unauthorized', 'The access token is invalid or expired', { headers: challenge })
  }
  if (await isSessionRevoked(c.get('services'), claims.sid)) {
    throw new ApiError('unauthorized', 'The session has ended; sign in again', { headers: challenge })
  }
  c.set('caller', { userId: claims.sub, sessionId: claims.sid, role: claims.role })
  await next()
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
