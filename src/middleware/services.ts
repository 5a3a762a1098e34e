import { createMiddleware } from 'hono/factory'
import { loadConfig } from '../config'
import { createLogger } from '../lib/log'
import { createServices } from '../services'
import type { AppEnv } from '../types'

/** Builds the per-request services object once; handlers read it with `c.get('services')`. */
export const services = createMiddleware<AppEnv>(async (c, next) => {
  const config = loadConfig(c.env)
  const log = createLogger(config.logLevel, { requestId: c.get('requestId') })
  c.set('log', log)
  c.set('services', createServices(c.env, { log }))
  await next()
})
