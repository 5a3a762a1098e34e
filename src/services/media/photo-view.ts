import { z } from '@hono/zod-openapi'
import type { Config } from '../../config'
import type { photos } from '../../db/schema'
import { mediaUrl } from './media-url'

/** What a member photo is to clients: its limits, schema, stored objects and API view. */

export const maxPhotos = 7
/** Square variants, in pixels; each is stored as `<size>-<id>.jpg`. */
export const squareSizes = [900, 450] as const

export type PhotoRow = typeof photos.$inferSelect

export const PhotoSchema = z
  .object({
    id: z.string().regex(/^[0-9a-f]{64}$/),
    position: z.number().int().min(1).max(maxPhotos),
    blurhash: z.string().openapi({ example: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj' }),
    width: z.number().int().openapi({ description: 'Width of the original after EXIF rotation' }),
    height: z.number().int().openapi({ description: 'Height of the original after EXIF rotation' }),
    isGif: z.boolean(),
    verified: z.boolean().openapi({ description: 'Matched the member by selfie verification' }),
    urls: z
      .object({
        original: z.url().openapi({ description: 'Full image, orientation applied, JPEG' }),
        '900': z.url().openapi({ description: '900 × 900 square crop, JPEG' }),
        '450': z.url().openapi({ description: '450 × 450 square crop, JPEG' }),
        gif: z.url().optional().openapi({ description: 'The uploaded animation, GIFs only' }),
      })
      .openapi({ description: 'Immutable URLs: cache them forever' }),
  })
  .openapi('Photo')

export type Photo = z.infer<typeof PhotoSchema>

/** The R2 keys of one photo's objects. */
export function photoKeys(id: string, isGif: boolean): string[] {
  return [`original-${id}.jpg`, ...squareSizes.map((n) => `${n}-${id}.jpg`), ...(isGif ? [`${id}.gif`] : [])]
}

/**
 * The API view of a photo row.
 *
 * @example
 * photoView(row, s.config).urls['450'] // 'https://…/media/images/450-<id>.jpg'
 */
export function photoView(row: PhotoRow, config: Config): Photo {
  const url = (key: string) => mediaUrl(config, 'images', key)
  return {
    id: row.id,
    position: row.position,
    blurhash: row.blurhash,
    width: row.width,
    height: row.height,
    isGif: row.isGif,
    verified: row.verified,
    urls: {
      original: url(`original-${row.id}.jpg`),
      '900': url(`900-${row.id}.jpg`),
      '450': url(`450-${row.id}.jpg`),
      ...(row.isGif ? { gif: url(`${row.id}.gif`) } : {}),
    },
  }
}
