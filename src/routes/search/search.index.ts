import { createRouter } from '../../lib/http/router'
import * as handlers from './search.handlers'
import * as routes from './search.routes'

export const searchRouter = createRouter()
  .openapi(routes.getFilters, handlers.getFilters)
  .openapi(routes.setFilter, handlers.setFilter)
  .openapi(routes.listFilterQuestions, handlers.listFilterQuestions)
  .openapi(routes.setQuestionFilter, handlers.setQuestionFilter)
  .openapi(routes.removeQuestionFilter, handlers.removeQuestionFilter)
  .openapi(routes.quiz, handlers.quiz)
  .openapi(routes.rebuild, handlers.rebuild)
  .openapi(routes.page, handlers.page)
