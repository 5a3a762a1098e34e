import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses, jsonBody } from '../../lib/http/openapi'
import { pageSchema, paginationQuery } from '../../lib/http/pagination'
import { requireOnboarded } from '../../middleware/account-status'
import { requireAuth } from '../../middleware/auth'
import { SearchResultSchema } from '../../services/search/search'
import { questionId } from '../personality/personality.routes'
import {
  AnswerFilterInputSchema,
  AnswerFilterSchema,
  FilterPatchSchema,
  QuestionFilterSchema,
  SearchFiltersSchema,
  maxAnswerFilters,
} from '../../services/search/filters'

const tags = ['Search']
const security = [{ bearerAuth: [] }]

/** Search pages are small, (n ≤ 10): a client shows a few cards at a time. */
export const maxResultsPerPage = 10
const itemsPerPage = z.coerce
  .number()
  .int()
  .min(1)
  .max(maxResultsPerPage)
  .default(maxResultsPerPage)
  .openapi({ param: { description: `Rows per page, 1–${maxResultsPerPage}` }, example: 10 })
const SearchPageSchema = pageSchema(SearchResultSchema, 'SearchResultPage')

export const getFilters = createRoute({
  method: 'get',
  path: '/api/v1/search/filters',
  operationId: 'getSearchFilters',
  tags,
  summary: 'My search filters',
  description: 'Every filter (mutual and one-way) and my Q&A filters.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  responses: {
    200: { description: 'My filters', content: { 'application/json': { schema: SearchFiltersSchema } } },
    ...errorResponses(401, 409),
  },
})

export const setFilter = createRoute({
  method: 'patch',
  path: '/api/v1/search/filters',
  operationId: 'updateSearchFilter',
  tags,
  summary: 'Change one search filter',
  description:
    'Exactly one field per request (422 naming the fields otherwise). Lists take profile values plus `unanswered` (people who left the field empty); a list of every value means "any". `club` must be one of my clubs; inside a club the mutual conditions are waived. Takes effect at the next rebuild (POST /api/v1/search).',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { body: jsonBody(FilterPatchSchema) },
  responses: {
    200: { description: 'My filters', content: { 'application/json': { schema: SearchFiltersSchema } } },
    ...errorResponses(400, 401, 409, 415, 422),
  },
})

export const listFilterQuestions = createRoute({
  method: 'get',
  path: '/api/v1/search/filters/questions',
  operationId: 'listFilterQuestions',
  tags,
  summary: 'Questions to filter on',
  description:
    'Closest to `q` first (trigram distance); without `q`, those I filter on first. Each with my filter on it, if any.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: {
    query: paginationQuery.extend({
      q: z
        .string()
        .max(200)
        .optional()
        .openapi({ param: { description: 'Text to look for' } }),
    }),
  },
  responses: {
    200: {
      description: 'A page of questions',
      content: { 'application/json': { schema: pageSchema(QuestionFilterSchema, 'QuestionWithFilterPage') } },
    },
    ...errorResponses(401, 409, 422),
  },
})

export const setQuestionFilter = createRoute({
  method: 'put',
  path: '/api/v1/search/filters/questions/{questionId}',
  operationId: 'setAnswerFilter',
  tags,
  summary: 'Filter on an answer',
  description: `Only members who answered \`answer\` (or, with \`acceptUnanswered\`, did not answer the question). At most ${maxAnswerFilters} such filters: one more answers 409 \`too_many_filters\`.`,
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { params: questionId, body: jsonBody(AnswerFilterInputSchema) },
  responses: {
    200: { description: 'The filter', content: { 'application/json': { schema: AnswerFilterSchema } } },
    ...errorResponses(400, 401, 404, 409, 415, 422),
  },
})

export const removeQuestionFilter = createRoute({
  method: 'delete',
  path: '/api/v1/search/filters/questions/{questionId}',
  operationId: 'removeAnswerFilter',
  tags,
  summary: 'Remove an answer filter',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { params: questionId },
  responses: {
    204: { description: 'Removed' },
    ...errorResponses(401, 404, 409, 422),
  },
})

export const rebuild = createRoute({
  method: 'post',
  path: '/api/v1/search',
  operationId: 'rebuildSearch',
  tags,
  summary: 'Search (rebuild my result list)',
  description:
    'Runs the search with my current filters, keeps the best 500 as my result list and returns its first page; later pages come from GET /api/v1/search. Ordered by has-a-photo, verified, then match %. Rate limited through the tier rules (default 15 per 2 minutes on every tier).',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { query: z.object({ items_per_page: itemsPerPage }) },
  responses: {
    200: {
      description: 'Page 1 of the new list',
      content: { 'application/json': { schema: SearchPageSchema } },
    },
    ...errorResponses(401, 409, 422),
  },
})

export const page = createRoute({
  method: 'get',
  path: '/api/v1/search',
  operationId: 'listSearchResults',
  tags,
  summary: 'A page of my result list',
  description:
    'Pages are cut by list position, so they never overlap; members who since left or skipped me drop out (a shorter page). Never built → an empty page.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { query: paginationQuery.extend({ items_per_page: itemsPerPage }) },
  responses: {
    200: { description: 'A page', content: { 'application/json': { schema: SearchPageSchema } } },
    ...errorResponses(401, 409, 422),
  },
})

export const quiz = createRoute({
  method: 'get',
  path: '/api/v1/search/quiz',
  operationId: 'getQuizMatch',
  tags,
  summary: 'Quiz search: my top match, live',
  description:
    'The first row of my result list with the match % recomputed from my personality as it is now (null when the list is empty).',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  responses: {
    200: {
      description: 'The top row',
      content: {
        'application/json': {
          schema: z.object({ result: SearchResultSchema.nullable() }).openapi('QuizSearchResult'),
        },
      },
    },
    ...errorResponses(401, 409),
  },
})
