import type { Redis } from '@upstash/redis/cloudflare'
import { type Config, loadConfig } from '../config'
import { type Database, createDatabase } from '../db/client'
import type { Env } from '../env'
import { type Clock, systemClock } from '../lib/clock'
import { type Logger, createLogger } from '../lib/log'
import { getRedis } from './platform/redis'

/**
 * Everything a service function needs, built once per Worker request (or cron run, or queue
 * batch) and passed explicitly; a Durable Object builds one for its lifetime, its events sharing
 * one I/O context (see durable-objects/hibernation.ts). Services never import Hono, so the same code runs
 * from routes, crons, queue consumers and Durable Objects.
 */
export interface Services {
  config: Config
  env: Env
  database: Database
  redis: Redis
  clock: Clock
  log: Logger
  /**
   * Loads in flight for this services object only (see `sharedWithinRequest`): in a Worker a
   * pending promise lives with the request that started it and is never reachable from another
   * request; in a Durable Object it is the object's, like the rest of its in-memory state.
   */
  inFlight: Map<string, Promise<unknown>>
}

export function createServices(env: Env, opts: { log?: Logger; clock?: Clock } = {}): Services {
  const config = loadConfig(env)
  return {
    config,
    env,
    database: createDatabase(config.database),
    redis: getRedis(config.redis),
    clock: opts.clock ?? systemClock,
    log: opts.log ?? createLogger(config.logLevel),
    inFlight: new Map(),
  }
}
