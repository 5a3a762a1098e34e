import { createRouter } from '../../lib/http/router'
import * as handlers from './users-admin.handlers'
import * as routes from './users-admin.routes'

export const usersAdminRouter = createRouter()
  .openapi(routes.listUsers, handlers.listUsers)
  .openapi(routes.getUser, handlers.getUser)
  .openapi(routes.updateUser, handlers.updateUser)
  .openapi(routes.setUserTier, handlers.setUserTier)
  .openapi(routes.softDeleteUser, handlers.softDeleteUser)
  .openapi(routes.restoreUser, handlers.restoreUser)
  .openapi(routes.hardDeleteUser, handlers.hardDeleteUser)
