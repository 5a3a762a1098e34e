import type { RouteHandler } from '@hono/zod-openapi'
import { readUpload } from '../../lib/http/upload'
import {
  deletePhoto as remove,
  listPhotos as list,
  photoView,
  putPhoto as put,
  reorderPhotos as reorder,
} from '../../services/media/photos'
import type { AppEnv } from '../../types'
import type * as routes from './photos.routes'

/** Media URLs fall back to this API's own /media route, so they need the origin it was called on. */
const apiOrigin = (url: string) => new URL(url).origin

export const listPhotos: RouteHandler<typeof routes.listPhotos, AppEnv> = async (c) => {
  const s = c.get('services')
  const rows = await list(s, c.get('caller')!.userId)
  const origin = apiOrigin(c.req.url)
  return c.json({ data: rows.map((row) => photoView(row, s.config, origin)) }, 200)
}

export const putPhoto: RouteHandler<typeof routes.putPhoto, AppEnv> = async (c) => {
  const s = c.get('services')
  const { position } = c.req.valid('param')
  const { top, left } = c.req.valid('query')
  const bytes = await readUpload(c)
  const { photo, created } = await put(s, c.get('caller')!.userId, position, bytes, { top, left })
  const view = photoView(photo, s.config, apiOrigin(c.req.url))
  return created ? c.json(view, 201) : c.json(view, 200)
}

export const deletePhoto: RouteHandler<typeof routes.deletePhoto, AppEnv> = async (c) => {
  await remove(c.get('services'), c.get('caller')!.userId, c.req.valid('param').position)
  return c.body(null, 204)
}

export const reorderPhotos: RouteHandler<typeof routes.reorderPhotos, AppEnv> = async (c) => {
  const s = c.get('services')
  const rows = await reorder(s, c.get('caller')!.userId, c.req.valid('json').assignments)
  const origin = apiOrigin(c.req.url)
  return c.json({ data: rows.map((row) => photoView(row, s.config, origin)) }, 200)
}
