import { and, asc, count, eq } from 'drizzle-orm'
import { rateLimitRules, tiers } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { describeError, postgresErrorOf } from '../../lib/log'
import { type PageRequest, pageWindow } from '../../lib/http/pagination'
import type { LimitRule } from './rate-limit'
import { sharedWithinRequest } from './request-memo'
import type { Services } from '..'

/**
 * A tier's rate-limit rules, one per route template, and the isolate-level cache the global
 * limiter reads them through.
 */

export type RateLimitRule = typeof rateLimitRules.$inferSelect
export type RateLimitAlgorithm = RateLimitRule['algorithm']

export const routeMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const

/**
 * The canonical form of a route template, `METHOD /path/{param}`, as the OpenAPI document spells
 * paths; null when `input` is not one. The method is upper-cased, Hono's `:param` becomes
 * `{param}` and a trailing slash is dropped, so `get /api/v1/x/:id/` and `GET /api/v1/x/{id}`
 * name the same rule (Hono matches both paths to the same route).
 *
 * @example
 * normalizeRouteTemplate('post /api/v1/search') // 'POST /api/v1/search'
 * normalizeRouteTemplate('/api/v1/search') // null: no method
 */
export function normalizeRouteTemplate(input: string): string | null {
  const match = /^\s*([A-Za-z]+)\s+(\/\S*)\s*$/.exec(input)
  if (!match) return null
  const method = match[1]!.toUpperCase()
  if (!(routeMethods as readonly string[]).includes(method)) return null
  let path = match[2]!.replace(/:([A-Za-z_][\w-]*)/g, '{$1}')
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
  // Query strings and fragments are not part of a route; `{}` must wrap a parameter name.
  if (/[?#]/.test(path) || !/^(\/([\w.~-]*|\{[A-Za-z_][\w-]*\}))+$/.test(path)) return null
  return `${method} ${path}`
}

/**
 * A tier's id by name (a one-row unique-index lookup), or a 404 naming the tier.
 *
 * @example
 * const tierId = await tierIdByName(s, 'pro')
 */
export async function tierIdByName(s: Services, name: string): Promise<string> {
  const [tier] = await s.database.db.select({ id: tiers.id }).from(tiers).where(eq(tiers.name, name))
  if (!tier) throw new ApiError('not_found', `No tier named "${name}"`)
  return tier.id
}

/** Turn a unique violation on (tier, route) or (tier, name) into a 409 that says which. */
function conflictFrom(err: unknown, input: { name?: string; route?: string }): never {
  const pg = postgresErrorOf(err)
  if (pg?.code !== '23505') throw err
  const constraint = String(pg.constraint ?? pg.message ?? '')
  if (constraint.includes('tier_route')) {
    throw new ApiError('conflict', `This tier already has a rule for ${input.route}`)
  }
  throw new ApiError('conflict', `This tier already has a rule named "${input.name}"`)
}

export interface RuleInput {
  name: string
  route: string
  limit: number
  periodSeconds: number
  algorithm?: RateLimitAlgorithm
}

/**
 * Add a rule to the tier called `tierName`. 404 without such a tier; 409 when the tier already
 * has a rule for the route or with the name (both unique per tier, enforced by the database so
 * concurrent creates cannot both succeed).
 *
 * @example
 * await createRule(s, 'pro', { name: 'search', route: 'POST /api/v1/search', limit: 120, periodSeconds: 60 })
 */
export async function createRule(s: Services, tierName: string, input: RuleInput): Promise<RateLimitRule> {
  const tierId = await tierIdByName(s, tierName)
  const now = s.clock.now()
  try {
    const [rule] = await s.database.db
      .insert(rateLimitRules)
      .values({ ...input, tierId, createdAt: now, updatedAt: now })
      .returning()
    forgetTierRules(tierId)
    return rule!
  } catch (err) {
    conflictFrom(err, input)
  }
}

/**
 * One page of a tier's rules in route order (ties broken by id, so pages never overlap).
 *
 * @example
 * const { rows, total } = await listRules(s, 'pro', { page: 1, items_per_page: 20 })
 */
export async function listRules(
  s: Services,
  tierName: string,
  page: PageRequest,
): Promise<{ rows: RateLimitRule[]; total: number }> {
  const tierId = await tierIdByName(s, tierName)
  const { limit, offset } = pageWindow(page)
  const [rows, [counted]] = await s.database.db.batch([
    s.database.db
      .select()
      .from(rateLimitRules)
      .where(eq(rateLimitRules.tierId, tierId))
      .orderBy(asc(rateLimitRules.route), asc(rateLimitRules.id))
      .limit(limit)
      .offset(offset),
    s.database.db.select({ n: count() }).from(rateLimitRules).where(eq(rateLimitRules.tierId, tierId)),
  ])
  return { rows, total: counted?.n ?? 0 }
}

/**
 * One rule of the tier; a rule of another tier is a 404 like a missing one.
 *
 * @example
 * const rule = await getRule(s, 'pro', id)
 */
export async function getRule(s: Services, tierName: string, id: string): Promise<RateLimitRule> {
  const tierId = await tierIdByName(s, tierName)
  const [rule] = await s.database.db
    .select()
    .from(rateLimitRules)
    .where(and(eq(rateLimitRules.id, id), eq(rateLimitRules.tierId, tierId)))
  if (!rule) throw new ApiError('not_found', 'No rate-limit rule with that id in this tier')
  return rule
}

/**
 * Change some fields of a rule. Counters are keyed by tier, route and algorithm, so changing the
 * limit or period keeps the current window's count, while a new route or algorithm starts fresh.
 *
 * @example
 * await updateRule(s, 'pro', id, { limit: 240 })
 */
export async function updateRule(
  s: Services,
  tierName: string,
  id: string,
  patch: Partial<RuleInput>,
): Promise<RateLimitRule> {
  const tierId = await tierIdByName(s, tierName)
  let rule: RateLimitRule | undefined
  try {
    ;[rule] = await s.database.db
      .update(rateLimitRules)
      .set({ ...patch, updatedAt: s.clock.now() })
      .where(and(eq(rateLimitRules.id, id), eq(rateLimitRules.tierId, tierId)))
      .returning()
  } catch (err) {
    conflictFrom(err, patch)
  }
  if (!rule) throw new ApiError('not_found', 'No rate-limit rule with that id in this tier')
  forgetTierRules(tierId)
  return rule
}

/**
 * Delete a rule; the route falls back to the defaults for that tier.
 *
 * @example
 * await deleteRule(s, 'pro', id)
 */
export async function deleteRule(s: Services, tierName: string, id: string): Promise<void> {
  const tierId = await tierIdByName(s, tierName)
  const [deleted] = await s.database.db
    .delete(rateLimitRules)
    .where(and(eq(rateLimitRules.id, id), eq(rateLimitRules.tierId, tierId)))
    .returning({ id: rateLimitRules.id })
  if (!deleted) throw new ApiError('not_found', 'No rate-limit rule with that id in this tier')
  forgetTierRules(tierId)
}

/**
 * The rule cache. Every limited request needs its tier's rule for the route; reading Postgres for
 * that would add a query to every request, so each isolate keeps a tier's rules for
 * {@link ruleCacheTtlMs} and reloads them (one query) on the first request after that. An admin
 * change is therefore in force everywhere within 60 s, and at once in the isolate that made it
 * (the write functions above drop that tier's entry). Ages come from `s.clock`, so tests can
 * move time; an age below zero (a clock set back) also reloads.
 *
 * Only settled rows are shared across requests, never a load in flight (a request must not await
 * I/O another request started). Herd protection without that: while one request reloads an
 * expired entry, the others keep serving the expired rows (a reload is marked by a timestamp, and
 * a reload that has not finished after {@link reloadGraceMs} is tried again by the next request);
 * only a tier no request in this isolate has loaded yet costs each concurrent request its own query.
 */
export const ruleCacheTtlMs = 60_000
const reloadGraceMs = 5_000

interface CachedRules {
  loadedAt: number
  byRoute: Map<string, RateLimitRule>
  /** When a request started reloading this expired entry (clock ms), if one has. */
  reloadingSince?: number
}

const ruleCache = new Map<string, CachedRules>()
/** Bumped per tier by every forget, so a load that started before a write cannot store pre-write rows. */
const generations = new Map<string, number>()

/** Drop a tier's cached rules in this isolate (other isolates catch up within the TTL). */
export function forgetTierRules(tierId: string): void {
  ruleCache.delete(tierId)
  generations.set(tierId, (generations.get(tierId) ?? 0) + 1)
}

function loadTierRules(s: Services, tierId: string): Promise<Map<string, RateLimitRule>> {
  // Calls within one request that overlap share one query.
  return sharedWithinRequest(s, `rate-limit-rules:${tierId}`, async () => {
    const generation = generations.get(tierId) ?? 0
    const rows = await s.database.db.select().from(rateLimitRules).where(eq(rateLimitRules.tierId, tierId))
    const byRoute = new Map(rows.map((r) => [r.route, r]))
    if ((generations.get(tierId) ?? 0) === generation) {
      ruleCache.set(tierId, { loadedAt: s.clock.now().getTime(), byRoute })
    }
    return byRoute
  })
}

async function tierRules(s: Services, tierId: string): Promise<Map<string, RateLimitRule>> {
  const cached = ruleCache.get(tierId)
  const now = s.clock.now().getTime()
  const age = cached ? now - cached.loadedAt : -1
  if (cached && age >= 0 && age < ruleCacheTtlMs) return cached.byRoute
  if (cached?.reloadingSince !== undefined && now - cached.reloadingSince < reloadGraceMs) {
    return cached.byRoute
  }
  if (cached) cached.reloadingSince = now
  try {
    return await loadTierRules(s, tierId)
  } catch (err) {
    // Postgres trouble must not turn every request into a 500 here: keep enforcing what was
    // known (or the defaults) and let a later request try again.
    s.log.warn('rate_limit.rules_unavailable', { tierId, error: describeError(err) })
    return cached?.byRoute ?? new Map()
  }
}

/**
 * Routes whose limit on every tier (and without one) is tighter than the configured default,
 * unless the tier has its own rule for the route: rules stay editable per tier, this is only
 * what a tier without one gets.
 */
export const builtInRouteLimits: Record<string, Omit<LimitRule, 'name'>> = {
  // Rebuilding a search result list is the most expensive read (15 per 2 min).
  'POST /api/v1/search': { limit: 15, periodSeconds: 120, algorithm: 'sliding' },
}

/**
 * The limit that applies to `route` for a member of `tierId`: the tier's rule when it has one,
 * otherwise the route's {@link builtInRouteLimits} entry or `DEFAULT_RATE_LIMIT_LIMIT` per `DEFAULT_RATE_LIMIT_PERIOD` seconds (also for callers
 * without a tier, and anonymous ones). The returned `name` is the counter's Redis key prefix:
 * tier, algorithm and route, not the rule's display name, so renaming a rule keeps its counts.
 *
 * @example
 * const rule = await limitFor(s, account?.tierId ?? null, 'POST /api/v1/search')
 */
export async function limitFor(s: Services, tierId: string | null, route: string): Promise<LimitRule> {
  const rule = tierId ? (await tierRules(s, tierId)).get(route) : undefined
  if (rule) {
    return {
      name: `t:${tierId}:${rule.algorithm}:${route}`,
      limit: rule.limit,
      periodSeconds: rule.periodSeconds,
      algorithm: rule.algorithm,
    }
  }
  const builtIn = builtInRouteLimits[route]
  if (builtIn) return { name: `d:${builtIn.algorithm}:${route}`, ...builtIn }
  const { defaultLimit, defaultPeriodSeconds } = s.config.rateLimit
  return {
    name: `d:fixed:${route}`,
    limit: defaultLimit,
    periodSeconds: defaultPeriodSeconds,
    algorithm: 'fixed',
  }
}
