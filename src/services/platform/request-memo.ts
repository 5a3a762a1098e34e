import type { Services } from '..'

/**
 * Run `load` once per `key` among the calls on one services object that overlap in time: herd
 * protection within a request. The Workers runtime cancels a request that awaits a promise, fetch
 * or stream another request started, so the loads in flight live on the request's own services
 * object (built once per Worker request, cron run or queue batch, and once per Durable Object,
 * whose events share one I/O context), never in a map shared by the isolate; caches shared across requests hold only settled values with an expiry. The
 * entry is dropped once the load settles, so a later call in the same request sees writes made in
 * between.
 *
 * @example
 * const rows = await sharedWithinRequest(s, `tier-rules:${tierId}`, () => loadRules(s, tierId))
 */
export function sharedWithinRequest<T>(s: Services, key: string, load: () => Promise<T>): Promise<T> {
  const running = s.inFlight.get(key) as Promise<T> | undefined
  if (running) return running
  const promise = load().finally(() => s.inFlight.delete(key))
  s.inFlight.set(key, promise)
  return promise
}
