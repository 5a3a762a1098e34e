import type { RouteHandler } from '@hono/zod-openapi'
import { ApiError } from '../../lib/http/errors'
import { readUpload } from '../../lib/http/upload'
import {
  deleteVoiceBio as remove,
  getVoiceBio as get,
  putVoiceBio as put,
  voiceBioView,
} from '../../services/media/voice-bio'
import type { AuthedEnv } from '../../types'
import type * as routes from './voice-bio.routes'

export const getVoiceBio: RouteHandler<typeof routes.getVoiceBio, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const row = await get(s, c.get('caller').userId)
  if (!row) throw new ApiError('not_found', 'You have no voice bio')
  return c.json(voiceBioView(row, s.config), 200)
}

export const putVoiceBio: RouteHandler<typeof routes.putVoiceBio, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const bytes = await readUpload(c)
  const { row, created } = await put(s, c.get('caller').userId, bytes)
  const view = voiceBioView(row, s.config)
  return created ? c.json(view, 201) : c.json(view, 200)
}

export const deleteVoiceBio: RouteHandler<typeof routes.deleteVoiceBio, AuthedEnv> = async (c) => {
  await remove(c.get('services'), c.get('caller').userId)
  return c.body(null, 204)
}
