import { sharedWithinRequest } from './request-memo'
import type { Services } from '..'
import { describeError } from '../../lib/log'

/**
 * Read-through cache over Upstash Redis.
 *
 * **Invalidation by tag versions kept inside the entry.** Every tag (`tiers`, `user:42:posts`)
 * has a version string in Redis. An entry is stored as an envelope `{v, e, t}` — the value, its
 * expiry, and the version of each of its tags *as read before the value was loaded*. A read
 * fetches the entry and the current tag versions in one pipelined round trip and serves the
 * entry only when every tag version still matches. Invalidating a tag is one `SET` of a fresh
 * random version, O(1) however many pages of a list are cached.
 *
 * Why not a Redis set per tag listing its keys: invalidation would be O(keys) (`SMEMBERS` + `DEL`),
 * and a loader that started before the invalidation could write its stale value after the
 * `DEL`, where it would be served until the TTL. Why not versions folded into the key: a read
 * then needs two dependent round trips (versions, then the key). Both variants, like this one,
 * avoid the boilerplate's failure mode — invalidation by a key *pattern* that never matched the
 * real list keys — because nothing is ever found by pattern. Versions are random rather than
 * counters so that an evicted version key can never come back as a value old entries match.
 *
 * **Thundering herd.** Concurrent callers within one request share one load. Across requests and
 * isolates, the first caller takes a short lock (`SET lock NX PX`) and loads; the others poll the
 * entry for a bounded time and then load themselves rather than fail. A load in flight is never
 * shared between requests: the Workers runtime cancels a request that awaits I/O another request
 * started, and that request may itself be cancelled before its load settles.
 *
 * **Redis down.** Every Redis call is guarded: the cache is bypassed (the loader runs), a
 * warning is logged, and the request still succeeds. An invalidation that could not reach Redis
 * leaves entries stale for at most their TTL.
 */

/** Values that survive the JSON round trip unchanged, so a hit returns exactly what a miss did. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json | undefined }

export interface CacheOptions {
  /** The entry's identity; build it with {@link cacheKey} so route and parameters are always in it. */
  key: string
  ttlSeconds: number
  /** Groups the entry belongs to, e.g. `['tiers']` for every page of the tier list. */
  tags?: string[]
  /** How long a lock holder may take before others stop waiting for it (default 2000 ms). */
  lockMs?: number
}

/** What is stored in Redis for one entry. */
interface Envelope {
  /** The value. */
  v: Json
  /** Expiry in ms since the epoch, by `s.clock` (Redis' own TTL is the backstop). */
  e: number
  /** The version of each tag when the value was loaded. */
  t: Record<string, string>
}

const itemKey = (key: string) => `cache:item:${key}`
const tagKey = (tag: string) => `cache:tag:${tag}`
const lockKey = (key: string) => `cache:lock:${key}`
/** Prefixed so the Upstash client never JSON-parses a version into a number. */
const freshVersion = () => `v${crypto.randomUUID()}`

const defaultLockMs = 2000

/**
 * A cache key from a route and its parameters, with parameters sorted so that the same request
 * always maps to the same key whatever order its query string had. Undefined parameters are left
 * out.
 *
 * @example
 * cacheKey('GET /api/v1/tiers', { page: 2, itemsPerPage: 10 }) // 'GET /api/v1/tiers?itemsPerPage=10&page=2'
 */
export function cacheKey(route: string, params: Record<string, string | number | boolean | undefined> = {}) {
  const query = Object.entries(params)
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`)
    .join('&')
  return query ? `${route}?${query}` : route
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function warn(s: Services, event: string, key: string, err: unknown) {
  s.log.warn(event, { key, error: describeError(err) })
}

/**
 * One round trip: the entry, and the current version of each tag. A tag with no version yet gets
 * one (`SET NX GET` answers the old value, or nil when it just stored ours).
 */
async function read(s: Services, key: string, tags: string[]) {
  const proposed = tags.map(() => freshVersion())
  const pipeline = s.redis.pipeline().get<Envelope>(itemKey(key))
  tags.forEach((tag, i) => pipeline.set(tagKey(tag), proposed[i]!, { nx: true, get: true }))
  const [entry, ...existing] = await pipeline.exec<[Envelope | null, ...(string | null)[]]>()
  const versions: Record<string, string> = {}
  tags.forEach((tag, i) => {
    versions[tag] = existing[i] == null ? proposed[i]! : String(existing[i])
  })
  return { entry: entry ?? null, versions }
}

function isFresh(s: Services, entry: Envelope | null, versions: Record<string, string>): entry is Envelope {
  if (!entry || typeof entry !== 'object' || !('v' in entry)) return false
  if (entry.e <= s.clock.now().getTime()) return false
  return Object.entries(versions).every(([tag, version]) => entry.t?.[tag] === version)
}

async function write(
  s: Services,
  key: string,
  ttlSeconds: number,
  value: Json,
  versions: Record<string, string>,
) {
  const envelope: Envelope = { v: value, e: s.clock.now().getTime() + ttlSeconds * 1000, t: versions }
  await s.redis.set(itemKey(key), envelope, { px: ttlSeconds * 1000 })
}

async function readThrough<T extends Json>(
  s: Services,
  opts: CacheOptions,
  load: () => Promise<T>,
): Promise<T> {
  const tags = opts.tags ?? []
  const lockMs = opts.lockMs ?? defaultLockMs
  let versions: Record<string, string>
  try {
    const found = await read(s, opts.key, tags)
    if (isFresh(s, found.entry, found.versions)) return found.entry.v as T
    versions = found.versions
  } catch (err) {
    warn(s, 'cache.bypassed', opts.key, err)
    return load()
  }

  let locked: boolean
  try {
    locked = (await s.redis.set(lockKey(opts.key), '1', { nx: true, px: lockMs })) === 'OK'
  } catch (err) {
    warn(s, 'cache.lock_failed', opts.key, err)
    return load()
  }

  if (!locked) {
    // Another isolate is loading: wait for its value (polling with backoff) up to the lock's
    // lifetime, then load ourselves so a crashed lock holder costs latency, never an error.
    const deadline = Date.now() + lockMs
    for (let delay = 20; Date.now() < deadline; delay = Math.min(delay * 2, 200)) {
      await sleep(Math.min(delay, Math.max(0, deadline - Date.now())))
      try {
        const found = await read(s, opts.key, tags)
        if (isFresh(s, found.entry, found.versions)) return found.entry.v as T
      } catch (err) {
        warn(s, 'cache.bypassed', opts.key, err)
        return load()
      }
    }
  }

  const started = Date.now()
  // Only release a lock that is certainly still ours: past lockMs another caller may hold it
  // (a stale release would merely let one more caller load, but there is no reason to).
  const release = async () => {
    if (locked && Date.now() - started < lockMs) await s.redis.del(lockKey(opts.key))
  }
  let value: T
  try {
    value = await load()
  } catch (err) {
    // Waiters should retry the load at once rather than wait out the lock of a failed one.
    await release().catch((releaseErr: unknown) => warn(s, 'cache.unlock_failed', opts.key, releaseErr))
    throw err
  }
  try {
    if (value !== undefined) await write(s, opts.key, opts.ttlSeconds, value, versions)
    await release()
  } catch (err) {
    warn(s, 'cache.write_failed', opts.key, err)
  }
  return value
}

/**
 * Read-through: the cached value for `opts.key` when it is fresh and none of its tags was
 * invalidated since it was stored; otherwise `load()` once (per isolate, and per cluster while
 * the lock holds), store the result for `ttlSeconds`, and return it. Errors from `load` are not
 * cached and reach every caller that shared the load.
 *
 * @example
 * const page = await cached(s, { key: cacheKey('GET /api/v1/tiers', query), ttlSeconds: 60, tags: ['tiers'] }, () =>
 *   listTiers(s, query),
 * )
 */
export function cached<T extends Json>(s: Services, opts: CacheOptions, load: () => Promise<T>): Promise<T> {
  return sharedWithinRequest(s, `cache:${opts.key}`, () => readThrough(s, opts, load))
}

/**
 * Write-through: store `value` as the fresh entry for `opts.key` (under the tags' current
 * versions), e.g. right after a write returned the new state, or from another isolate's point of
 * view, the value a lock holder publishes. Never throws; returns whether Redis took it.
 *
 * @example
 * const tier = await renameTier(s, id, name)
 * await storeCached(s, { key: cacheKey('GET /api/v1/tiers/{name}', { name }), ttlSeconds: 300, tags: ['tiers'] }, tier)
 */
export async function storeCached<T extends Json>(
  s: Services,
  opts: CacheOptions,
  value: T,
): Promise<boolean> {
  try {
    const { versions } = await read(s, opts.key, opts.tags ?? [])
    await write(s, opts.key, opts.ttlSeconds, value, versions)
    return true
  } catch (err) {
    warn(s, 'cache.write_failed', opts.key, err)
    return false
  }
}

/**
 * Drop entries after a write: `keys` by identity (the item that changed), `tags` by giving each
 * tag a new version (every list that contains the item, whatever its page or filters). One
 * pipelined round trip. Never throws: with Redis down, the write that called this has already
 * happened, and stale entries expire with their TTL.
 *
 * @example
 * await updateTier(s, id, patch)
 * await invalidate(s, { keys: [cacheKey('GET /api/v1/tiers/{name}', { name })], tags: ['tiers'] })
 */
export async function invalidate(s: Services, opts: { keys?: string[]; tags?: string[] }): Promise<void> {
  const keys = opts.keys ?? []
  const tags = opts.tags ?? []
  if (keys.length === 0 && tags.length === 0) return
  try {
    const pipeline = s.redis.pipeline()
    if (keys.length > 0) pipeline.del(...keys.map(itemKey))
    for (const tag of tags) pipeline.set(tagKey(tag), freshVersion())
    await pipeline.exec()
  } catch (err) {
    warn(s, 'cache.invalidate_failed', [...keys, ...tags.map((t) => `#${t}`)].join(','), err)
  }
}
