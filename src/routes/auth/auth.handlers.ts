import type { Context } from 'hono'
import type { RouteHandler } from '@hono/zod-openapi'
import { ApiError } from '../../lib/http/errors'
import { InvalidEmailError, normalizeEmail } from '../../services/accounts/email'
import { clearRefreshCookie, readRefreshCookie, setRefreshCookie } from '../../lib/http/cookies'
import { type LimitRule, emailIdentity, enforceLimits } from '../../services/platform/rate-limit'
import { revokeSessions, rotateRefreshToken, type IssuedTokens } from '../../services/accounts/sessions'
import {
  challengeEmail,
  requestSignInCode,
  resendSignInCode,
  verifySignInCode,
  type SignedIn,
} from '../../services/accounts/sign-in'
import type { AppEnv, AuthedEnv } from '../../types'
import type * as routes from './auth.routes'

type C = Context<AppEnv>

/**
 * Code sends per minute, per email and per IP. Sliding, not fixed: a fixed window starts again at
 * each minute, so twice the limit could be mailed to one inbox within a second around the edge.
 */
const sendRule = (c: C): LimitRule => ({
  name: 'otp-send',
  limit: c.get('services').config.rateLimit.otpSendsPerMinute,
  periodSeconds: 60,
  algorithm: 'sliding',
})
/**
 * Code requests and code checks per day, per IP and per email. Sliding for the same reason: a
 * fixed window is a UTC day, so twice the budget could be spent around midnight.
 */
export const dailyRule = (c: C, name: string): LimitRule => ({
  name,
  limit: c.get('services').config.rateLimit.signInAttemptsPerDay,
  periodSeconds: 86_400,
  algorithm: 'sliding',
})
export const ipId = (c: C) => `ip:${c.get('clientIp')}`

export function applyHeaders(c: C, headers: Record<string, string>) {
  for (const [name, value] of Object.entries(headers)) c.header(name, value)
}

/** Shape issued tokens for the client kind: web gets the refresh token only as a cookie. */
export function tokenResponse(c: C, tokens: IssuedTokens | SignedIn, client: 'web' | 'mobile') {
  c.header('Cache-Control', 'no-store')
  if (client === 'web') setRefreshCookie(c, tokens.refreshToken, tokens.refreshExpiresAt)
  return {
    accessToken: tokens.accessToken,
    tokenType: 'Bearer' as const,
    expiresIn: tokens.expiresIn,
    ...(client === 'mobile' ? { refreshToken: tokens.refreshToken } : {}),
    refreshExpiresAt: tokens.refreshExpiresAt.toISOString(),
    ...('user' in tokens ? { user: tokens.user, needsOnboarding: tokens.needsOnboarding } : {}),
  }
}

export const requestCode: RouteHandler<typeof routes.requestCode, AppEnv> = async (c) => {
  const { email: raw, answers, pendingClub } = c.req.valid('json')
  let email: string
  try {
    email = normalizeEmail(raw)
  } catch (err) {
    if (!(err instanceof InvalidEmailError)) throw err
    throw new ApiError('validation_failed', 'Invalid email address', {
      errors: [{ path: 'json.email', message: 'Invalid email address' }],
    })
  }
  const s = c.get('services')
  const emailId = await emailIdentity(email)
  const { headers } = await enforceLimits(s, [
    [sendRule(c), ipId(c)],
    [sendRule(c), emailId],
    [dailyRule(c, 'sign-in-request'), ipId(c)],
    [dailyRule(c, 'sign-in-request'), emailId],
  ])
  applyHeaders(c, headers)
  const challenge = await requestSignInCode(s, {
    email,
    emailDisplay: raw.trim(),
    ip: c.get('clientIp'),
    answers,
    pendingClub,
  })
  return c.json({ challengeId: challenge.challengeId, expiresAt: challenge.expiresAt.toISOString() }, 201)
}

export const resendCode: RouteHandler<typeof routes.resendCode, AppEnv> = async (c) => {
  const s = c.get('services')
  const { challengeId } = c.req.valid('json')
  const email = await challengeEmail(s, challengeId)
  if (!email) throw new ApiError('not_found', 'No pending sign-in with that id; request a new code')
  const { headers } = await enforceLimits(s, [
    [sendRule(c), ipId(c)],
    [sendRule(c), await emailIdentity(email)],
  ])
  applyHeaders(c, headers)
  const challenge = await resendSignInCode(s, challengeId)
  return c.json({ challengeId: challenge.challengeId, expiresAt: challenge.expiresAt.toISOString() }, 200)
}

export const verifyCode: RouteHandler<typeof routes.verifyCode, AppEnv> = async (c) => {
  const s = c.get('services')
  const body = c.req.valid('json')
  const email = await challengeEmail(s, body.challengeId)
  const { headers } = await enforceLimits(s, [
    [dailyRule(c, 'sign-in-attempt'), ipId(c)],
    ...(email ? [[dailyRule(c, 'sign-in-attempt'), await emailIdentity(email)] as [LimitRule, string]] : []),
  ])
  applyHeaders(c, headers)
  const signedIn = await verifySignInCode(s, {
    challengeId: body.challengeId,
    code: body.code,
    client: body.client,
    device: body.device ?? c.req.header('user-agent')?.slice(0, 200) ?? null,
    ip: c.get('clientIp'),
    email,
  })
  return c.json(tokenResponse(c, signedIn, body.client), 200)
}

export const refresh: RouteHandler<typeof routes.refresh, AppEnv> = async (c) => {
  const fromBody = c.req.valid('json').refreshToken
  const fromCookie = readRefreshCookie(c)
  const token = fromBody ?? fromCookie
  if (!token) throw new ApiError('unauthorized', 'A refresh token is required (body or cookie)')
  try {
    const tokens = await rotateRefreshToken(c.get('services'), token, c.get('clientIp'))
    return c.json(tokenResponse(c, tokens, fromBody ? 'mobile' : 'web'), 200)
  } catch (err) {
    if (!fromBody) clearRefreshCookie(c)
    throw err
  }
}

export const logout: RouteHandler<typeof routes.logout, AuthedEnv> = async (c) => {
  await revokeSessions(c.get('services'), [c.get('caller').sessionId], 'logout')
  clearRefreshCookie(c)
  return c.body(null, 204)
}
