import { createMiddleware } from 'hono/factory'
import { ApiError } from '../lib/http/errors'
import type { AppEnv } from '../types'

/**
 * Gates on where the caller's account is in its life (after `requireAuth`): onboarding routes
 * only while onboarding, profile routes only after. 409, since the request is fine and the
 * account's state is what has to change first.
 */

/** Only accounts still onboarding (409 `already_onboarded` otherwise). */
export const requireOnboarding = createMiddleware<AppEnv>(async (c, next) => {
  const account = c.get('account')
  if (!account) throw new ApiError('unauthorized', 'An access token is required')
  if (account.status !== 'onboarding') {
    throw new ApiError('already_onboarded', 'This account has finished onboarding')
  }
  await next()
})

/** Only accounts that finished onboarding (409 `onboarding_required` otherwise). */
export const requireOnboarded = createMiddleware<AppEnv>(async (c, next) => {
  const account = c.get('account')
  if (!account) throw new ApiError('unauthorized', 'An access token is required')
  if (account.status === 'onboarding') {
    throw new ApiError('onboarding_required', 'Finish onboarding first')
  }
  await next()
})
