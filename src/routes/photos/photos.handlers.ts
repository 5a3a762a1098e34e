import type { RouteHandler } from '@hono/zod-openapi'
import { readUpload } from '../../lib/http/upload'
import {
  deletePhoto as remove,
  listPhotos as list,
  putPhoto as put,
  reorderPhotos as reorder,
} from '../../services/media/photos'
import { photoView } from '../../services/media/photo-view'
import type { AuthedEnv } from '../../types'
import type * as routes from './photos.routes'

export const listPhotos: RouteHandler<typeof routes.listPhotos, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const rows = await list(s, c.get('caller').userId)
  return c.json({ data: rows.map((row) => photoView(row, s.config)) }, 200)
}

export const putPhoto: RouteHandler<typeof routes.putPhoto, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const { position } = c.req.valid('param')
  const { top, left } = c.req.valid('query')
  const bytes = await readUpload(c)
  const { photo, created } = await put(s, c.get('caller').userId, position, bytes, { top, left })
  const view = photoView(photo, s.config)
  return created ? c.json(view, 201) : c.json(view, 200)
}

export const deletePhoto: RouteHandler<typeof routes.deletePhoto, AuthedEnv> = async (c) => {
  await remove(c.get('services'), c.get('caller').userId, c.req.valid('param').position)
  return c.body(null, 204)
}

export const reorderPhotos: RouteHandler<typeof routes.reorderPhotos, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const rows = await reorder(s, c.get('caller').userId, c.req.valid('json').assignments)
  return c.json({ data: rows.map((row) => photoView(row, s.config)) }, 200)
}
