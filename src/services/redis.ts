import { Redis } from '@upstash/redis/cloudflare'

const clients = new Map<string, Redis>()

/**
 * One Upstash REST client per URL+token per isolate. The client holds no socket (each command
 * is a fetch), so sharing it across requests is safe and saves re-parsing its options.
 */
export function getRedis(opts: { url: string; token: string }): Redis {
  const key = `${opts.url}\n${opts.token}`
  let client = clients.get(key)
  if (!client) {
    // retry: 0 — a dead Redis must surface quickly (readiness, fail-open limiter), not after
    // the client's default five exponential retries.
    client = new Redis({ url: opts.url, token: opts.token, retry: { retries: 0 }, enableTelemetry: false })
    clients.set(key, client)
  }
  return client
}
