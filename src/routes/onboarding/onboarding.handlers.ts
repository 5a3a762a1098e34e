import type { RouteHandler } from '@hono/zod-openapi'
import * as onboarding from '../../services/accounts/onboarding'
import { getOwnProfile } from '../../services/profiles/profiles'
import { applyQuizAtOnboarding } from '../../services/accounts/sign-up-quiz'
import type { AuthedEnv } from '../../types'
import type * as routes from './onboarding.routes'

export const getOnboarding: RouteHandler<typeof routes.getOnboarding, AuthedEnv> = async (c) =>
  c.json(await onboarding.onboardingState(c.get('services'), c.get('caller').userId), 200)

export const updateOnboarding: RouteHandler<typeof routes.updateOnboarding, AuthedEnv> = async (c) =>
  c.json(
    await onboarding.updateOnboarding(c.get('services'), c.get('caller').userId, c.req.valid('json')),
    200,
  )

export const finishOnboarding: RouteHandler<typeof routes.finishOnboarding, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const { userId } = await onboarding.finishOnboarding(s, c.get('caller').userId)
  await applyQuizAtOnboarding(s, userId)
  return c.json(await getOwnProfile(s, userId), 201)
}
