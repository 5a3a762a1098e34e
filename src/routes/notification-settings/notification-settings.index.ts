import { createRouter } from '../../lib/http/router'
import * as handlers from './notification-settings.handlers'
import * as routes from './notification-settings.routes'

export const notificationSettingsRouter = createRouter()
  .openapi(routes.showNotificationSettingsLink, handlers.showNotificationSettingsLink)
  .openapi(routes.applyNotificationSettingsLink, handlers.applyNotificationSettingsLink)
