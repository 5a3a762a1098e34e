import { createMiddleware } from 'hono/factory'
import { ApiError } from '../lib/http/errors'
import { type BooleanFeature, cachedTiers, tierFeatures } from '../services/accounts/tiers'
import type { AppEnv } from '../types'

/**
 * Tier gating for routes, so handlers never compare tier names themselves. Both middlewares run
 * after `requireAuth` and read the caller's account summary (whose tier is current: changing a
 * member's tier clears the cached summary) and this isolate's copy of the tier table (≤ 60 s).
 */

/**
 * Require a feature switch to be on for the caller's tier; 403 `tier_required` naming the
 * feature otherwise.
 *
 * @example
 * middleware: [requireAuth, requireFeature('readReceipts')] as const
 */
export function requireFeature(feature: BooleanFeature) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const account = c.get('account')
    if (!account) throw new ApiError('unauthorized', 'An access token is required')
    const features = await tierFeatures(c.get('services'), account.tierId)
    if (!features[feature]) {
      throw new ApiError('tier_required', `Your tier does not include the "${feature}" feature`)
    }
    await next()
  })
}

/**
 * Require the caller's tier to be one of `names`. Prefer {@link requireFeature}: it keeps working
 * when admins add tiers or rename them. This is for the rare route that is tied to a tier as such.
 *
 * @example
 * middleware: [requireAuth, requireTier('gold', 'platinum')] as const
 */
export function requireTier(...names: string[]) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const account = c.get('account')
    if (!account) throw new ApiError('unauthorized', 'An access token is required')
    const tier = account.tierId ? (await cachedTiers(c.get('services'))).get(account.tierId) : undefined
    if (!tier || !names.includes(tier.name)) {
      throw new ApiError('tier_required', `This requires one of these tiers: ${names.join(', ')}`)
    }
    await next()
  })
}
