import { createRouter } from '../../lib/http/router'
import * as handlers from './places.handlers'
import * as routes from './places.routes'

export const placesRouter = createRouter().openapi(routes.searchPlaces, handlers.searchPlaces)
