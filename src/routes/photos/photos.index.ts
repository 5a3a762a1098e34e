import { createRouter } from '../../lib/http/router'
import * as handlers from './photos.handlers'
import * as routes from './photos.routes'

export const photosRouter = createRouter()
  .openapi(routes.listPhotos, handlers.listPhotos)
  .openapi(routes.reorderPhotos, handlers.reorderPhotos)
  .openapi(routes.putPhoto, handlers.putPhoto)
  .openapi(routes.deletePhoto, handlers.deletePhoto)
