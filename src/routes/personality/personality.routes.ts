import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses, jsonBody } from '../../lib/http/openapi'
import { pageSchema, paginationQuery } from '../../lib/http/pagination'
import { requireOnboarded } from '../../middleware/account-status'
import { requireAuth } from '../../middleware/auth'
import { publicCache } from '../../middleware/http-cache'
import {
  AnswerComparisonSchema,
  AnswerResultSchema,
  MyPersonalitySchema,
  PersonalityComparisonSchema,
  QuestionSchema,
  agreementValues,
  questionTopicValues,
  traitTopicValues,
} from '../../services/personality/personality'

const tags = ['Personality']
const security = [{ bearerAuth: [] }]

/** Question pages are at most 50: a client shows a handful at a time. */
export const maxQuestionsPerPage = 50
const questionPageQuery = paginationQuery.extend({
  items_per_page: z.coerce
    .number()
    .int()
    .min(1)
    .max(maxQuestionsPerPage)
    .default(10)
    .openapi({ param: { description: `Rows per page, 1–${maxQuestionsPerPage}` }, example: 10 }),
})
const QuestionPageSchema = pageSchema(QuestionSchema, 'QuestionPage')

/** `{questionId}`: a question of the bank (smallint ids). */
export const questionId = z.object({
  questionId: z.coerce
    .number()
    .int()
    .min(1)
    .max(32767)
    .openapi({ param: { description: 'Question id' }, example: 12 }),
})
const idOrSlug = z.object({
  idOrSlug: z.string().min(1).max(100).openapi({ description: 'Member id (uuid) or URL slug' }),
})

export const nextQuestions = createRoute({
  method: 'get',
  path: '/api/v1/questions/next',
  operationId: 'listNextQuestions',
  tags,
  summary: 'Questions I have not answered yet',
  description:
    'Questions 1–10 first, in order; then the rest in a shuffle that is stable for me (paging neither repeats nor skips), answered and skipped ones left out.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { query: questionPageQuery },
  responses: {
    200: {
      description: 'A page of questions',
      content: { 'application/json': { schema: QuestionPageSchema } },
    },
    ...errorResponses(401, 409, 422),
  },
})

export const publicQuestions = createRoute({
  method: 'get',
  path: '/api/v1/questions/public',
  operationId: 'listPublicQuestions',
  tags,
  summary: 'The public quiz',
  description: 'Every question in id order, for visitors before they sign up. Public; cacheable.',
  middleware: [publicCache()] as const,
  request: { query: questionPageQuery },
  responses: {
    200: {
      description: 'A page of questions',
      content: { 'application/json': { schema: QuestionPageSchema } },
    },
    304: { description: 'Not modified (the `If-None-Match` ETag still matches)' },
    ...errorResponses(422),
  },
})

export const answerQuestion = createRoute({
  method: 'put',
  path: '/api/v1/answers/{questionId}',
  operationId: 'answerQuestion',
  tags,
  summary: 'Answer, change or skip a question',
  description:
    '`answer: null` skips the question (not offered again, not counted). `public: true` shows the answer to members who compare answers with me; private answers still count toward my personality and match %. Returns my updated traits.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: {
    params: questionId,
    body: jsonBody(
      z
        .object({
          answer: z.boolean().nullable(),
          public: z.boolean(),
        })
        .strict()
        .openapi('AnswerInput'),
    ),
  },
  responses: {
    200: {
      description: 'My answer and traits',
      content: { 'application/json': { schema: AnswerResultSchema } },
    },
    ...errorResponses(400, 401, 404, 409, 415, 422),
  },
})

export const removeAnswer = createRoute({
  method: 'delete',
  path: '/api/v1/answers/{questionId}',
  operationId: 'removeAnswer',
  tags,
  summary: 'Remove my answer',
  description: 'The question is offered again. Returns my updated traits; 404 when I had not answered it.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { params: questionId },
  responses: {
    200: { description: 'My traits', content: { 'application/json': { schema: MyPersonalitySchema } } },
    ...errorResponses(401, 404, 409, 422),
  },
})

export const myPersonality = createRoute({
  method: 'get',
  path: '/api/v1/me/personality',
  operationId: 'getMyPersonality',
  tags,
  summary: 'My personality',
  description: 'Every trait as % toward its max label; null until about three answers inform it.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  responses: {
    200: { description: 'My traits', content: { 'application/json': { schema: MyPersonalitySchema } } },
    ...errorResponses(401, 409),
  },
})

export const comparePersonalities = createRoute({
  method: 'get',
  path: '/api/v1/profiles/{idOrSlug}/personality',
  operationId: 'comparePersonality',
  tags,
  summary: "My traits next to another member's",
  description:
    'With our match %. The member must be visible to me as on their profile (404 like an unknown id, or 403 `verification_required`).',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: {
    params: idOrSlug,
    query: z.object({ topic: z.enum(traitTopicValues).optional() }),
  },
  responses: {
    200: {
      description: 'The comparison',
      content: { 'application/json': { schema: PersonalityComparisonSchema } },
    },
    ...errorResponses(401, 403, 404, 409, 422),
  },
})

export const compareAnswers = createRoute({
  method: 'get',
  path: '/api/v1/profiles/{idOrSlug}/answers',
  operationId: 'compareAnswers',
  tags,
  summary: "My answers next to another member's",
  description:
    "Questions either of us answered, in id order. Only the member's public answers are shown; a private one counts as unanswered. `agreement`: agree / disagree (both answered), unanswered (only one of us). Visibility as for their profile (404 / 403).",
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: {
    params: idOrSlug,
    query: paginationQuery.extend({
      agreement: z.enum(agreementValues).default('all'),
      topic: z.enum(['all', ...questionTopicValues]).default('all'),
    }),
  },
  responses: {
    200: {
      description: 'A page of answers',
      content: { 'application/json': { schema: pageSchema(AnswerComparisonSchema, 'AnswerComparisonPage') } },
    },
    ...errorResponses(401, 403, 404, 409, 422),
  },
})
