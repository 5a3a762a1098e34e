import { Ratelimit } from '@upstash/ratelimit'
import { ApiError } from '../../lib/http/errors'
import { sha256Hex } from '../../lib/crypto'
import type { Services } from '..'
import { describeError } from '../../lib/log'

/** One limit: `limit` events per `periodSeconds`, counted per identity. */
export interface LimitRule {
  /** Stable name: part of the Redis key, so renaming a rule resets its counters. */
  name: string
  limit: number
  periodSeconds: number
  /**
   * How events are counted (default `fixed`):
   * - `fixed`: windows start at multiples of the period since the epoch, so up to twice the limit
   *   can pass around a window's edge;
   * - `sliding`: the last window's count, weighed by how much of it still overlaps the period,
   *   plus this window's;
   * - `spaced`: for a limit of one, no two events closer than the period, with no window edge
   *   (a bucket of one token, refilled the full period after it was taken). Internal rules only:
   *   tiers choose `fixed` or `sliding`.
   */
  algorithm?: 'fixed' | 'sliding' | 'spaced'
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
  const key = ruleKey(rule)
  // Per Redis client: a limiter holds the client it was built with, and one isolate can serve
  // several configurations (tests point some requests at a dead Redis).
  let limiters = limitersByClient.get(s.redis)
  if (!limiters) {
    limiters = new Map()
    limitersByClient.set(s.redis, limiters)
  }
  let limiter = limiters.get(key)
  if (!limiter) {
    limiter = buildLimiter(s.redis, rule)
    limiters.set(key, limiter)
  }
  return limiter
}

const ruleKey = (rule: LimitRule) =>
  `${rule.name}|${rule.limit}|${rule.periodSeconds}|${rule.algorithm ?? 'fixed'}`

function algorithmOf(rule: LimitRule) {
  const window = `${rule.periodSeconds} s` as const
  switch (rule.algorithm ?? 'fixed') {
    case 'sliding':
      return Ratelimit.slidingWindow(rule.limit, window)
    case 'spaced':
      // The bucket's key expires a full period after its token was taken, so a later event finds
      // a fresh bucket: the gap between two allowed events is never shorter than the period.
      if (rule.limit !== 1) throw new Error(`rate limit ${rule.name}: 'spaced' takes a limit of 1`)
      return Ratelimit.tokenBucket(1, window, 1)
    case 'fixed':
      return Ratelimit.fixedWindow(rule.limit, window)
  }
}

function buildLimiter(redis: Services['redis'], rule: LimitRule): Ratelimit {
  return new Ratelimit({
    redis,
    limiter: algorithmOf(rule),
    prefix: `rl:${rule.name}`,
    ephemeralCache: ephemeral,
    analytics: false,
    // The library's default (5 s) *allows* a request whose Redis call is slow: under load that
    // silently lifts every limit, and it ignores RATE_LIMIT_FAIL_MODE=closed. 0 disables that race;
    // failures reach consumeLimit, which applies the configured fail mode.
    timeout: 0,
  })
}

let lastFailOpenWarning = 0

/**
 * Count one event against `rule` for `identity`. Redis trouble follows config: fail open (allow,
 * warn at most once a minute) or fail closed (503).
 */
export async function consumeLimit(s: Services, rule: LimitRule, identity: string): Promise<LimitDecision> {
  return decide(s, rule, limiterFor(s, rule).limit(identity))
}

async function decide(
  s: Services,
  rule: LimitRule,
  pending: ReturnType<Ratelimit['limit']>,
): Promise<LimitDecision> {
  try {
    const r = await pending
    return { rule, success: r.success, limit: r.limit, remaining: Math.max(0, r.remaining), reset: r.reset }
  } catch (err) {
    if (s.config.rateLimit.failMode === 'closed') {
      s.log.error('rate_limit.unavailable', { rule: rule.name, error: describeError(err) })
      throw new ApiError('service_unavailable', 'Rate limiting is unavailable; try again shortly')
    }
    const now = Date.now()
    if (now - lastFailOpenWarning > 60_000) {
      lastFailOpenWarning = now
      s.log.warn('rate_limit.fail_open', { rule: rule.name, error: describeError(err) })
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

type Pipeline = ReturnType<Services['redis']['pipeline']>
type PipelineResults = { result?: unknown; error?: string }[]

/**
 * A pipeline's share of one limit check: the script calls @upstash/ratelimit made while the
 * pipeline was open, answered when the caller hands over the pipeline's results.
 */
class PipelinedScripts {
  private readonly queued: { index: number; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] =
    []

  constructor(private readonly pipeline: Pipeline) {}

  evalsha(sha: string, keys: string[], args: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queued.push({ index: this.pipeline.length(), resolve, reject })
      this.pipeline.evalsha(sha, keys, args)
    })
  }

  /** Answer the queued calls from the pipeline's results (`exec({ keepErrors: true })`), or fail them all. */
  settle(results: PipelineResults | Error): void {
    for (const { index, resolve, reject } of this.queued) {
      if (results instanceof Error) reject(results)
      else if (results[index]?.error) reject(new Error(results[index]!.error))
      else resolve(results[index]?.result)
    }
  }
}

/**
 * A Redis client for @upstash/ratelimit whose script calls can ride on someone else's pipeline,
 * so a limit can be counted in the same round trip as other reads (authentication's revocation
 * check and account summary). The library calls EVALSHA synchronously from `limit()`; while
 * {@link ScriptRouter.through} runs, that call is queued on the pipeline. Anything outside it (the
 * NOSCRIPT fallback to EVAL, or a library version that calls later) goes to Redis directly:
 * slower, never wrong. One router (and one limiter on it) per Redis client and rule per isolate,
 * like {@link limiterFor}'s: building a Ratelimit on every request was measurable on /me.
 */
class ScriptRouter {
  private target: PipelinedScripts | undefined

  constructor(private readonly redis: Services['redis']) {}

  evalsha(sha: string, keys: string[], args: unknown[]): Promise<unknown> {
    return this.target ? this.target.evalsha(sha, keys, args) : this.redis.evalsha(sha, keys, args)
  }

  eval(script: string, keys: string[], args: unknown[]): Promise<unknown> {
    return this.redis.eval(script, keys, args)
  }

  /** Run `fn` (synchronous) with script calls queued on `scripts`' pipeline. */
  through<T>(scripts: PipelinedScripts, fn: () => T): T {
    this.target = scripts
    try {
      return fn()
    } finally {
      this.target = undefined
    }
  }
}

const pipelinedByClient = new WeakMap<
  Services['redis'],
  Map<string, { router: ScriptRouter; limiter: Ratelimit }>
>()

function pipelinedLimiterFor(s: Services, rule: LimitRule): { router: ScriptRouter; limiter: Ratelimit } {
  let limiters = pipelinedByClient.get(s.redis)
  if (!limiters) {
    limiters = new Map()
    pipelinedByClient.set(s.redis, limiters)
  }
  const key = ruleKey(rule)
  let entry = limiters.get(key)
  if (!entry) {
    const router = new ScriptRouter(s.redis)
    entry = { router, limiter: buildLimiter(router as unknown as Services['redis'], rule) }
    limiters.set(key, entry)
  }
  return entry
}

/**
 * Queue a limit check on `pipeline` instead of sending it on its own. Call `settle` with the
 * pipeline's results (from `exec({ keepErrors: true })`) or the error that stopped it; the
 * decision then resolves, with the same fail-open/closed policy as {@link consumeLimit}.
 *
 * @example
 * const p = s.redis.pipeline().get(a)
 * const limit = queueLimit(s, p, rule, `user:${id}`)
 * limit.settle(await p.exec({ keepErrors: true }))
 * const decision = await limit.decision
 */
export function queueLimit(
  s: Services,
  pipeline: Pipeline,
  rule: LimitRule,
  identity: string,
): { decision: Promise<LimitDecision>; settle(results: PipelineResults | Error): void } {
  const scripts = new PipelinedScripts(pipeline)
  const { router, limiter } = pipelinedLimiterFor(s, rule)
  const decision = decide(
    s,
    rule,
    router.through(scripts, () => limiter.limit(identity)),
  )
  // A caller that ends up not needing the decision must not leave a rejection unhandled.
  decision.catch(() => {})
  return { decision, settle: (results) => scripts.settle(results) }
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
