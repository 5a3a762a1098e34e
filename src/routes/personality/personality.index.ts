import { createRouter } from '../../lib/http/router'
import * as handlers from './personality.handlers'
import * as routes from './personality.routes'

export const personalityRouter = createRouter()
  .openapi(routes.nextQuestions, handlers.nextQuestions)
  .openapi(routes.publicQuestions, handlers.publicQuestions)
  .openapi(routes.answerQuestion, handlers.answerQuestion)
  .openapi(routes.removeAnswer, handlers.removeAnswer)
  .openapi(routes.myPersonality, handlers.myPersonality)
  .openapi(routes.comparePersonalities, handlers.comparePersonalities)
  .openapi(routes.compareAnswers, handlers.compareAnswers)
