import { createRouter } from '../../lib/http/router'
import * as handlers from './voice-bio.handlers'
import * as routes from './voice-bio.routes'

export const voiceBioRouter = createRouter()
  .openapi(routes.getVoiceBio, handlers.getVoiceBio)
  .openapi(routes.putVoiceBio, handlers.putVoiceBio)
  .openapi(routes.deleteVoiceBio, handlers.deleteVoiceBio)
