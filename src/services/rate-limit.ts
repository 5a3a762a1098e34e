import { Ratelimit } from '@upstash/ratelimit'
import { ApiError } from '../lib/errors'
import { sha256Hex } from '../lib/crypto'
import type { Services } from '.'

/** One limit: `limit` events per `periodSeconds`, counted per identity. */
export interface LimitRule {
  /** Stable name: part of the Redis key, so renaming a rule resets its counters. */
  name: string
  limit: number
  periodSeconds: number
  algorithm?: 'fixed' | 'sliding'
}

export interface LimitDecision {
  rule: LimitRule
  success: boolean
  limit: number
  remaining: number
  /** Unix ms when the window resets. */
  reset: number
}

/**
 * Ratelimit instances are cached per rule shape for the isolate's lifetime, with an ephemeral
 * in-memory cache: an identity that is blocked is refused from memory, without a Redis call,
 * until its window resets.
 */
const limitersByClient = new WeakMap<Services['redis'], Map<string, Ratelimit>>()
const ephemeral = new Map<string, number>()

function limiterFor(s: Services, rule: LimitRule): Ratelimit {
  const algorithm = rule.algorithm ?? 'fixed'
  const key = `${rule.name}|${rule.limit}|${rule.periodSeconds}|${algorithm}`
  // Per Redis client: a limiter holds the client it was built with, and one isolate can serve
  // several configurations (tests point some requests at a dead Redis).
  let limiters = limitersByClient.get(s.redis)
  if (!limiters) {
    limiters = new Map()
    limitersByClient.set(s.redis, limiters)
  }
  let limiter = limiters.get(key)
  if (!limiter) {
    const window = `${rule.periodSeconds} s` as const
    limiter = new Ratelimit({
      redis: s.redis,
      limiter:
        algorithm === 'sliding'
          ? Ratelimit.slidingWindow(rule.limit, window)
          : Ratelimit.fixedWindow(rule.limit, window),
      prefix: `rl:${rule.name}`,
      ephemeralCache: ephemeral,
      analytics: false,
      // The library's default (5 s) *allows* a request whose Redis call is slow: under load that
      // silently lifts every limit, and it ignores RATE_LIMIT_FAIL_MODE=closed. 0 disables that race;
      // failures reach consumeLimit, which applies the configured fail mode.
      timeout: 0,
    })
    limiters.set(key, limiter)
  }
  return limiter
}

let lastFailOpenWarning = 0

/**
 * Count one event against `rule` for `identity`. Redis trouble follows config: fail open (allow,
 * warn at most once a minute) or fail closed (503).
 */
export async function consumeLimit(s: Services, rule: LimitRule, identity: string): Promise<LimitDecision> {
  try {
    const r = await limiterFor(s, rule).limit(identity)
    return { rule, success: r.success, limit: r.limit, remaining: Math.max(0, r.remaining), reset: r.reset }
  } catch (err) {
    if (s.config.rateLimit.failMode === 'closed') {
      s.log.error('rate_limit.unavailable', { rule: rule.name, error: String(err) })
      throw new ApiError('service_unavailable', 'Rate limiting is unavailable; try again shortly')
    }
    const now = Date.now()
    if (now - lastFailOpenWarning > 60_000) {
      lastFailOpenWarning = now
      s.log.warn('rate_limit.fail_open', { rule: rule.name, error: String(err) })
    }
    return {
      rule,
      success: true,
      limit: rule.limit,
      remaining: rule.limit,
      reset: now + rule.periodSeconds * 1000,
    }
  }
}

/** Identities built from personal data (emails) are hashed before they become Redis keys. */
export async function emailIdentity(normalizedEmail: string): Promise<string> {
  return `email:${(await sha256Hex(normalizedEmail)).slice(0, 32)}`
}

/** RateLimit-* headers (IETF draft) for the most constraining decision, plus Retry-After on refusal. */
export function limitHeaders(decisions: LimitDecision[], now = Date.now()): Record<string, string> {
  if (decisions.length === 0) return {}
  const refused = decisions.filter((d) => !d.success)
  const binding = (refused.length ? refused : decisions).reduce((a, b) => (b.remaining < a.remaining ? b : a))
  const resetSeconds = Math.max(0, Math.ceil((binding.reset - now) / 1000))
  const headers: Record<string, string> = {
    'RateLimit-Limit': String(binding.limit),
    'RateLimit-Remaining': String(binding.remaining),
    'RateLimit-Reset': String(resetSeconds),
  }
  if (refused.length) {
    const retryAfter = Math.max(...refused.map((d) => Math.ceil((d.reset - now) / 1000)))
    headers['Retry-After'] = String(Math.max(1, retryAfter))
  }
  return headers
}

/**
 * Consume every (rule, identity) pair concurrently — one Redis round trip each, in parallel — and
 * throw a 429 problem naming the exhausted rule when any is refused.
 *
 * @example
 * const headers = await enforceLimits(s, [[otpSendRule, `ip:${ip}`], [otpSendRule, await emailIdentity(email)]])
 */
export async function enforceLimits(
  s: Services,
  checks: [LimitRule, string][],
): Promise<{ headers: Record<string, string>; decisions: LimitDecision[] }> {
  const decisions = await Promise.all(checks.map(([rule, id]) => consumeLimit(s, rule, id)))
  const headers = limitHeaders(decisions)
  const refused = decisions.find((d) => !d.success)
  if (refused) {
    throw new ApiError(
      'rate_limited',
      `Too many requests (${refused.rule.name}); retry after ${headers['Retry-After']} s`,
      {
        headers,
      },
    )
  }
  return { headers, decisions }
}
