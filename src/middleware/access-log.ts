import { createMiddleware } from 'hono/factory'
import { createLogger } from '../lib/log'
import type { AppEnv } from '../types'

/**
 * One wide JSON event per request, written after the response is ready: method, matched route
 * template (so `/x/1` and `/x/2` aggregate), status, duration, request id, client IP and caller.
 * Later middleware enriches it through context variables rather than logging on their own.
 */
export const accessLog = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now()
  await next()
  const log = c.get('log') ?? createLogger('info', { requestId: c.get('requestId') })
  const status = c.res.status
  const fields = {
    method: c.req.method,
    route: c.req.routePath,
    // The raw path can carry capabilities (export tokens); log it only when no route matched.
    ...(c.req.routePath === '/*' ? { path: c.req.path } : {}),
    status,
    durationMs: Math.round((performance.now() - started) * 100) / 100,
    ip: c.get('clientIp'),
    userId: c.get('caller')?.userId,
  }
  // 503 is an outage of a dependency, logged once per interval where it is detected.
  if (status >= 500 && status !== 503) log.error('request', fields)
  else if (status === 503) log.warn('request', fields)
  else log.info('request', fields)
})
