import type { Context } from 'hono'
import type { RouteHandler } from '@hono/zod-openapi'
import { clearRefreshCookie, readRefreshCookie, setRefreshCookie } from '../../lib/http/cookies'
import { ApiError } from '../../lib/http/errors'
import { loginWithPassword } from '../../services/accounts/operators'
import { type IssuedTokens, revokeSessions, rotateRefreshToken } from '../../services/accounts/sessions'
import type { AppEnv, AuthedEnv } from '../../types'
import type * as routes from './operators.routes'

/** Token responses must not be cached by anything on the way (RFC 6749 §5.1). */
function tokenResponse(c: Context<AppEnv>, tokens: IssuedTokens) {
  c.header('Cache-Control', 'no-store')
  setRefreshCookie(c, tokens.refreshToken, tokens.refreshExpiresAt)
  return { access_token: tokens.accessToken, token_type: 'bearer' as const, expires_in: tokens.expiresIn }
}

export const login: RouteHandler<typeof routes.login, AppEnv> = async (c) => {
  const { username, password } = c.req.valid('form')
  const tokens = await loginWithPassword(c.get('services'), {
    identifier: username,
    password,
    ip: c.get('clientIp'),
    device: c.req.header('user-agent'),
  })
  return c.json(tokenResponse(c, tokens), 200)
}

export const refresh: RouteHandler<typeof routes.refresh, AppEnv> = async (c) => {
  const presented = readRefreshCookie(c)
  if (!presented) throw new ApiError('unauthorized', 'Refresh token missing.')
  try {
    const tokens = await rotateRefreshToken(c.get('services'), presented, c.get('clientIp'))
    return c.json(tokenResponse(c, tokens), 200)
  } catch (err) {
    // A cookie that no longer works is dead weight on every request: drop it with the 401.
    if (err instanceof ApiError && err.status === 401) clearRefreshCookie(c)
    throw err
  }
}

export const logout: RouteHandler<typeof routes.logout, AuthedEnv> = async (c) => {
  const caller = c.get('caller')
  await revokeSessions(c.get('services'), [caller.sessionId], 'logout')
  clearRefreshCookie(c)
  return c.json({ message: 'Logged out successfully' }, 200)
}
