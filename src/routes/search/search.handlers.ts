import type { RouteHandler } from '@hono/zod-openapi'
import * as search from '../../services/search/search'
import * as filters from '../../services/search/filters'
import type { AuthedEnv } from '../../types'
import type * as routes from './search.routes'

export const getFilters: RouteHandler<typeof routes.getFilters, AuthedEnv> = async (c) =>
  c.json(await filters.getSearchFilters(c.get('services'), c.get('caller').userId), 200)

export const setFilter: RouteHandler<typeof routes.setFilter, AuthedEnv> = async (c) =>
  c.json(await filters.setSearchFilter(c.get('services'), c.get('caller').userId, c.req.valid('json')), 200)

export const listFilterQuestions: RouteHandler<typeof routes.listFilterQuestions, AuthedEnv> = async (c) => {
  const { q, ...request } = c.req.valid('query')
  return c.json(
    await filters.searchFilterQuestions(c.get('services'), c.get('caller').userId, q, request),
    200,
  )
}

export const setQuestionFilter: RouteHandler<typeof routes.setQuestionFilter, AuthedEnv> = async (c) =>
  c.json(
    await filters.setAnswerFilter(
      c.get('services'),
      c.get('caller').userId,
      c.req.valid('param').questionId,
      c.req.valid('json'),
    ),
    200,
  )

export const removeQuestionFilter: RouteHandler<typeof routes.removeQuestionFilter, AuthedEnv> = async (
  c,
) => {
  await filters.removeAnswerFilter(c.get('services'), c.get('caller').userId, c.req.valid('param').questionId)
  return c.body(null, 204)
}

export const rebuild: RouteHandler<typeof routes.rebuild, AuthedEnv> = async (c) =>
  c.json(
    await search.rebuildSearch(
      c.get('services'),
      c.get('caller').userId,
      c.req.valid('query').items_per_page,
    ),
    200,
  )

export const page: RouteHandler<typeof routes.page, AuthedEnv> = async (c) =>
  c.json(await search.searchPage(c.get('services'), c.get('caller').userId, c.req.valid('query')), 200)

export const quiz: RouteHandler<typeof routes.quiz, AuthedEnv> = async (c) =>
  c.json(await search.quizSearch(c.get('services'), c.get('caller').userId), 200)
