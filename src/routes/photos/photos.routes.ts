import { createRoute, z } from '@hono/zod-openapi'
import { createMiddleware } from 'hono/factory'
import { ApiError } from '../../lib/http/errors'
import { errorResponses, jsonBody } from '../../lib/http/openapi'
import { uploadBody, uploadBodyLimit } from '../../lib/http/upload'
import { requireAuth } from '../../middleware/auth'
import { PhotoSchema, maxPhotos } from '../../services/media/photo-view'
import { photoLimits } from '../../services/media/upload-checks'
import type { AppEnv } from '../../types'

const tags = ['Photos']
const security = [{ bearerAuth: [] }]

/**
 * Photos are an onboarding step and part of the live profile, so both onboarding and active
 * accounts may change them; a deactivated account reactivates first (by signing in).
 */
const canEditPhotos = createMiddleware<AppEnv>(async (c, next) => {
  const status = c.get('account')?.status
  if (status !== 'onboarding' && status !== 'active') {
    throw new ApiError('forbidden', 'Reactivate your account to change its photos')
  }
  await next()
})

const PhotoList = z.object({ data: z.array(PhotoSchema) }).openapi('PhotoList')

const PositionParam = z.object({
  position: z.coerce
    .number()
    .int()
    .min(1)
    .max(maxPhotos)
    .openapi({ param: { name: 'position', in: 'path' }, example: 1, description: `1 to ${maxPhotos}` }),
})

const offset = (axis: string) =>
  z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .optional()
    .openapi({
      description: `Distance in pixels from the ${axis} edge of the (orientation-corrected) original to the square crop; clamped into the image. Omitted: centred.`,
    })

export const listPhotos = createRoute({
  method: 'get',
  path: '/api/v1/me/photos',
  operationId: 'listPhotos',
  tags,
  summary: 'My photos',
  security,
  middleware: [requireAuth, canEditPhotos] as const,
  responses: {
    200: { description: 'My photos by position', content: { 'application/json': { schema: PhotoList } } },
    ...errorResponses(401, 403),
  },
})

export const putPhoto = createRoute({
  method: 'put',
  path: '/api/v1/me/photos/{position}',
  operationId: 'putPhoto',
  tags,
  summary: 'Upload or replace the photo at a position',
  description:
    `JPEG, PNG, WebP or GIF, at most 10 MB, sent as the raw body. Checked from the file's own headers before anything is decoded: ` +
    `the longer side at most ${photoLimits.still.maxLongSide} px and the shorter at least ${photoLimits.still.minShortSide} px ` +
    `(GIFs: ${photoLimits.gif.maxLongSide} px and ${photoLimits.gif.minShortSide} px), after EXIF rotation. HEIC is not accepted ` +
    `(415): convert on the device. A replaced photo gets a new id and loses its verified flag. Stored as a JPEG original ` +
    `(rotated, uncropped) and 900 × 900 and 450 × 450 square crops at \`top\`/\`left\`; GIFs also keep the animation.`,
  security,
  middleware: [requireAuth, canEditPhotos, uploadBodyLimit] as const,
  request: {
    params: PositionParam,
    query: z.object({ top: offset('top'), left: offset('left') }),
    body: uploadBody('The image file.', ['image/jpeg', 'image/png', 'image/webp', 'image/gif']),
  },
  responses: {
    200: {
      description: 'Replaced the photo there',
      content: { 'application/json': { schema: PhotoSchema } },
    },
    201: { description: 'Added a photo there', content: { 'application/json': { schema: PhotoSchema } } },
    ...errorResponses(401, 403, 413, 415, 422, 503),
  },
})

export const deletePhoto = createRoute({
  method: 'delete',
  path: '/api/v1/me/photos/{position}',
  operationId: 'deletePhoto',
  tags,
  summary: 'Delete the photo at a position',
  description: 'Other photos keep their positions.',
  security,
  middleware: [requireAuth, canEditPhotos] as const,
  request: { params: PositionParam },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404, 422) },
})

export const reorderPhotos = createRoute({
  method: 'patch',
  path: '/api/v1/me/photos/order',
  operationId: 'reorderPhotos',
  tags,
  summary: 'Move photos to other positions',
  description:
    'Each key of `assignments` is a position holding a photo, its value the position to move it to; photos not named stay. ' +
    'No two photos may end on one position, and a target must be empty or vacated by the same request (a swap names both).',
  security,
  middleware: [requireAuth, canEditPhotos] as const,
  request: {
    body: jsonBody(
      z
        .object({
          assignments: z
            .record(
              z.string().regex(/^[1-7]$/, `Positions are 1 to ${maxPhotos}`),
              z.number().int().min(1).max(maxPhotos),
            )
            .refine((a) => Object.keys(a).length > 0, 'Name at least one photo to move')
            .openapi({ minProperties: 1, example: { '1': 3, '3': 1 } }),
        })
        .strict()
        .openapi('PhotoOrder'),
    ),
  },
  responses: {
    200: { description: 'My photos after the move', content: { 'application/json': { schema: PhotoList } } },
    ...errorResponses(400, 401, 403, 409, 415, 422),
  },
})
