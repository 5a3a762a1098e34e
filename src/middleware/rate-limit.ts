import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { type LimitRule, enforceLimits } from '../services/platform/rate-limit'
import type { AppEnv } from '../types'

/** Who a request counts against: the signed-in user, else the client IP (never a raw XFF). */
export const callerIdentity = (c: Context<AppEnv>) => {
  const caller = c.get('caller')
  return caller ? `user:${caller.userId}` : `ip:${c.get('clientIp')}`
}

/**
 * Route middleware: count the request against each rule for the caller, answer 429 with
 * Retry-After when exhausted, and add RateLimit-* headers to the response otherwise.
 *
 * @example
 * middleware: [rateLimit((c) => [[{ name: 'export-token', limit: 3, periodSeconds: 86_400 }, callerIdentity(c)]])]
 */
export function rateLimit(checks: (c: Context<AppEnv>) => [LimitRule, string][]) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const { headers } = await enforceLimits(c.get('services'), checks(c))
    await next()
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value)
  })
}
