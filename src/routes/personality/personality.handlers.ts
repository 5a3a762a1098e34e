import type { RouteHandler } from '@hono/zod-openapi'
import * as personality from '../../services/personality/personality'
import type { AppEnv, AuthedEnv } from '../../types'
import type * as routes from './personality.routes'

export const nextQuestions: RouteHandler<typeof routes.nextQuestions, AuthedEnv> = async (c) =>
  c.json(
    await personality.nextQuestions(c.get('services'), c.get('caller').userId, c.req.valid('query')),
    200,
  )

export const publicQuestions: RouteHandler<typeof routes.publicQuestions, AppEnv> = async (c) =>
  c.json(await personality.publicQuestions(c.get('services'), c.req.valid('query')), 200)

export const answerQuestion: RouteHandler<typeof routes.answerQuestion, AuthedEnv> = async (c) =>
  c.json(
    await personality.answerQuestion(
      c.get('services'),
      c.get('caller').userId,
      c.req.valid('param').questionId,
      c.req.valid('json'),
    ),
    200,
  )

export const removeAnswer: RouteHandler<typeof routes.removeAnswer, AuthedEnv> = async (c) =>
  c.json(
    await personality.removeAnswer(
      c.get('services'),
      c.get('caller').userId,
      c.req.valid('param').questionId,
    ),
    200,
  )

export const myPersonality: RouteHandler<typeof routes.myPersonality, AuthedEnv> = async (c) =>
  c.json(await personality.myPersonality(c.get('services'), c.get('caller').userId), 200)

export const comparePersonalities: RouteHandler<typeof routes.comparePersonalities, AuthedEnv> = async (c) =>
  c.json(
    await personality.comparePersonalities(
      c.get('services'),
      c.get('caller').userId,
      c.req.valid('param').idOrSlug,
      c.req.valid('query').topic,
    ),
    200,
  )

export const compareAnswers: RouteHandler<typeof routes.compareAnswers, AuthedEnv> = async (c) => {
  const { agreement, topic, ...page } = c.req.valid('query')
  return c.json(
    await personality.compareAnswers(
      c.get('services'),
      c.get('caller').userId,
      c.req.valid('param').idOrSlug,
      { agreement, topic },
      page,
    ),
    200,
  )
}
