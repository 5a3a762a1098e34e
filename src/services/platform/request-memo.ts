import type { Services } from '..'

/**
 * Loads shared within one request (one services object) only. The Workers runtime cancels a
 * request that awaits a promise, fetch or stream another request started, so nothing pending may
 * be shared across requests: per-isolate caches hold settled values with an expiry, and herd
 * protection for a load in flight lives here, keyed by the request's own services object (built
 * once per request, cron run, queue batch or Durable Object event). The entry is dropped once the
 * load settles, so a later call in the same request sees writes made in between.
 */
const pending = new WeakMap<Services, Map<string, Promise<unknown>>>()

/**
 * Run `load` once per `key` among the calls of one request that overlap in time.
 *
 * @example
 * const rows = await sharedWithinRequest(s, `tier-rules:${tierId}`, () => loadRules(s, tierId))
 */
export function sharedWithinRequest<T>(s: Services, key: string, load: () => Promise<T>): Promise<T> {
  let loads = pending.get(s)
  if (!loads) {
    loads = new Map()
    pending.set(s, loads)
  }
  const running = loads.get(key) as Promise<T> | undefined
  if (running) return running
  const mine = loads
  const promise = load().finally(() => mine.delete(key))
  mine.set(key, promise)
  return promise
}
