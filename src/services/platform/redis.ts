import { Redis } from '@upstash/redis/cloudflare'

const clients = new Map<string, Redis>()

/**
 * One Upstash REST client per URL+token per isolate. Each command is its own fetch made by the
 * request that issued it, so the client can be shared — but only with auto-pipelining off: that
 * feature (on by default) gathers the commands of every caller in the same tick into one fetch,
 * so one request would await a fetch another request started, which the Workers runtime forbids
 * (it cancels the waiting request as hung). Pipelines stay available, built per call site.
 */
export function getRedis(opts: { url: string; token: string }): Redis {
  const key = `${opts.url}\n${opts.token}`
  let client = clients.get(key)
  if (!client) {
    client = new Redis({
      url: opts.url,
      token: opts.token,
      // A dead Redis must surface quickly (readiness, fail-open limiter), not after the client's
      // default five exponential retries.
      retry: { retries: 0 },
      enableTelemetry: false,
      enableAutoPipelining: false,
    })
    clients.set(key, client)
  }
  return client
}
