import { createRouter } from '../../lib/http/router'
import * as handlers from './tasks.handlers'
import * as routes from './tasks.routes'

export const tasksRouter = createRouter()
  .openapi(routes.createTask, handlers.createTask)
  .openapi(routes.readTask, handlers.readTask)
