import { createRequire } from 'node:module'
import type IORedisClient from 'ioredis'
import { type NeonProxy, startNeonProxy } from './neon-proxy'
import { type RedisLike, type UpstashRestServer, startUpstashRest } from './upstash-rest'

// Through Node's own require: the test suite's global setup loads this module once per test project,
// and the test runner's module evaluator cannot evaluate ioredis' CommonJS build a second time.
const IORedis = createRequire(import.meta.url)('ioredis') as typeof IORedisClient

export interface LocalStack {
  /** host:port of the Neon stand-in — the Worker's NEON_LOCAL_PROXY. */
  neonProxy: string
  /** The Upstash REST stand-in — the Worker's UPSTASH_REDIS_REST_URL / _TOKEN. */
  upstash: { url: string; token: string; server: UpstashRestServer }
  /** The Neon stand-in itself, for its counters. */
  neon: NeonProxy
  stop(): Promise<void>
}

/**
 * Start the Node-side stand-ins that let the unmodified production drivers in the Worker reach
 * local servers: a Neon WebSocket/HTTP endpoint in front of Postgres and an Upstash REST API in
 * front of Redis. `redis` is either a redis:// URL (real Redis) or an in-process client.
 */
export async function startLocalStack(opts: {
  databaseUrl: string
  redis: string | RedisLike
  upstashToken: string
  neonPort?: number
  upstashPort?: number
  /**
   * Per-tag accounting on both stand-ins (their `exposeStats`): a client given a `/__tag/<tag>` URL is counted
   * under that tag, and `GET /__stats/<tag>` answers its requests, statements or commands and round trips.
   */
  stats?: boolean
  /** Test-only outage switch on the Neon stand-in (see its `outageControl`). */
  neonOutageControl?: boolean
}): Promise<LocalStack> {
  const target = new URL(opts.databaseUrl)
  const address = `${target.hostname}:${target.port || '5432'}`
  const ownRedis =
    typeof opts.redis === 'string'
      ? new IORedis(opts.redis, { maxRetriesPerRequest: 1, protocol: 2 })
      : undefined
  let neon: NeonProxy | undefined
  try {
    neon = await startNeonProxy({
      port: opts.neonPort ?? 0,
      allowedTargets: [address],
      outageControl: opts.neonOutageControl,
      exposeStats: opts.stats,
    })
    const server = await startUpstashRest({
      redis: ownRedis ?? (opts.redis as RedisLike),
      token: opts.upstashToken,
      port: opts.upstashPort ?? 0,
      exposeStats: opts.stats,
    })
    const proxy = neon
    return {
      neonProxy: `127.0.0.1:${proxy.port}`,
      upstash: { url: server.url, token: opts.upstashToken, server },
      neon: proxy,
      async stop() {
        await Promise.allSettled([proxy.close(), server.close()])
        ownRedis?.disconnect()
      },
    }
  } catch (err) {
    await neon?.close()
    ownRedis?.disconnect()
    throw err
  }
}
