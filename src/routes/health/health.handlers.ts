import type { RouteHandler } from '@hono/zod-openapi'
import { problemResponse } from '../../lib/http/problem'
import { checkDependencies } from '../../services/platform/health'
import type { AppEnv } from '../../types'
import type { liveness, readiness } from './health.routes'

export const live: RouteHandler<typeof liveness, AppEnv> = (c) => {
  // Caching headers come from publicCache() on the route: the answer is the same for everyone.
  return c.json({ status: 'ok' as const }, 200)
}

export const ready: RouteHandler<typeof readiness, AppEnv> = async (c) => {
  c.header('Cache-Control', 'no-store')
  const checks = await checkDependencies(c.get('services'))
  const failing = Object.entries(checks).filter(([, check]) => !check.ok)
  if (failing.length > 0) {
    c.get('log').warn('health.not_ready', { checks })
    return problemResponse(
      c,
      'service_unavailable',
      `Unavailable: ${failing.map(([name]) => name).join(', ')}`,
      {
        errors: failing.map(([name, check]) => ({ path: name, message: check.error ?? 'failed' })),
      },
    ) as never
  }
  return c.json({ status: 'ok' as const, checks }, 200)
}
