import { createRouter } from '../../lib/http/router'
import * as handlers from './account.handlers'
import * as routes from './account.routes'

export const accountRouter = createRouter()
  .openapi(routes.deactivate, handlers.deactivate)
  .openapi(routes.deleteMe, handlers.deleteMe)
  .openapi(routes.createExportToken, handlers.createExportToken)
  .openapi(routes.downloadExport, handlers.downloadExport)
