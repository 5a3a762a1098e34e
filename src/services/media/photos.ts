import { z } from '@hono/zod-openapi'
import { and, asc, eq, getTableColumns, lt, sql } from 'drizzle-orm'
import type { Config } from '../../config'
import { bannedPhotoHashes, photos, storageDeletions } from '../../db/schema'
import { encodeBlurhash } from '../../lib/codecs/blurhash'
import { ApiError, type FieldError } from '../../lib/http/errors'
import {
  type ImageHeader,
  ImageHeaderError,
  orientedSize,
  readImageHeader,
  withoutOrientation,
} from '../../lib/codecs/image-header'
import { describeError } from '../../lib/log'
import { mediaUrl } from './media-url'
import { decodePng } from '../../lib/codecs/png-pixels'
import type { Services } from '..'
import { refreshVerificationLevel } from '../verification/level'

/**
 * Member photos: validation before any decode, processing on the Cloudflare Images binding,
 * variants in the images bucket, rows in `photos`.
 *
 * Pipeline for one upload (built for Workers):
 * 1. Sniff format, declared size and EXIF orientation from the container ({@link readImageHeader});
 *    refuse wrong formats, impossible sizes and truncated files here, without decoding.
 * 2. SHA-256 of the bytes; refuse moderator-banned files.
 * 3. Render the variants on the Images binding, so decoding never happens in the Worker's 128 MB:
 *    `original` (orientation applied, uncropped), `900` (square crop at the client's offsets),
 *    `450` (from the 900) and a 32 × 32 PNG (from the 450) for the blurhash. The orientation tag
 *    is set to 1 in the bytes handed over and the rotation/flip applied explicitly, so the
 *    production service (which honours the tag) and the local stand-in (which ignores it) agree.
 * 4. Check every output is a whole JPEG of the expected size (the local stand-in answers a
 *    corrupt input with an empty body instead of an error).
 * 5. Put every object to R2, then write the row — the row never points at missing objects. A
 *    replaced row's old objects are queued for deletion by a trigger (migrations/0005); new
 *    objects whose row could not be written are queued here.
 */

export const maxPhotos = 7
/** Square variants, in pixels; each is stored as `<size>-<id>.jpg`. */
export const squareSizes = [900, 450] as const
const blurhashSide = 32
const blurhashComponents = 4
const jpegQuality = 85

/** Declared-size limits, checked before decoding (plus an animation budget). */
export const photoLimits = {
  still: { maxLongSide: 5000, minShortSide: 50 },
  gif: { maxLongSide: 800, minShortSide: 10 },
  /**
   * Every frame of a GIF together: ~156 full 800 × 800 frames. The raw GIF is served to other
   * members' devices as is, so this bounds what they are asked to decode.
   */
  maxGifFramePixels: 100_000_000,
} as const

/** Objects never change under a key (ids are random and never reused): cache them forever. */
export const immutableCacheControl = 'public, max-age=31536000, immutable'

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

/**
 * A member's photos by position. Only live positions (1–7): a reorder in flight parks rows on
 * negative positions inside its transaction, which no other reader sees.
 *
 * @example
 * const rows = await listPhotos(s, userId)
 */
export async function listPhotos(s: Services, userId: string): Promise<PhotoRow[]> {
  return s.database.db.select().from(photos).where(eq(photos.userId, userId)).orderBy(asc(photos.position))
}

// ---------------------------------------------------------------------------------------------
// Validation

const bodyError = (code: 'validation_failed' | 'unsupported_media_type', detail: string) =>
  new ApiError(code, detail, { errors: [{ path: 'body', message: detail }] })

/** 415 / 422 for what the header says, before anything is decoded. */
function inspectHeader(bytes: Uint8Array): ImageHeader {
  let header: ImageHeader
  try {
    header = readImageHeader(bytes)
  } catch (err) {
    if (!(err instanceof ImageHeaderError)) throw err
    if (err.problem === 'unsupported' || err.problem === 'heif') {
      throw bodyError('unsupported_media_type', err.message)
    }
    throw bodyError('validation_failed', err.message)
  }
  const { width, height } = orientedSize(header)
  const long = Math.max(width, height)
  const short = Math.min(width, height)
  const limits = header.format === 'gif' ? photoLimits.gif : photoLimits.still
  const kind = header.format === 'gif' ? 'GIFs' : 'Photos'
  if (long > limits.maxLongSide) {
    throw bodyError(
      'validation_failed',
      `${kind} may be at most ${limits.maxLongSide} px on the longer side; this one declares ${width} × ${height}`,
    )
  }
  if (short < limits.minShortSide) {
    throw bodyError(
      'validation_failed',
      `${kind} must be at least ${limits.minShortSide} px on the shorter side; this one is ${width} × ${height}`,
    )
  }
  if (header.format === 'gif' && header.framePixels > photoLimits.maxGifFramePixels) {
    throw bodyError('validation_failed', 'This GIF has too many frames; shorten it')
  }
  return header
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/** 32 random bytes as hex: the schema's id format for photos, selfies and voice bios. */
export function newMediaId(): string {
  return hex(crypto.getRandomValues(new Uint8Array(32)))
}

async function sha256(bytes: Uint8Array): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)))
}

interface Inspected {
  bytes: Uint8Array
  header: ImageHeader
  hash: string
}

/** Everything that can be checked without decoding, cheapest first. */
async function inspectUpload(s: Services, bytes: Uint8Array): Promise<Inspected> {
  const header = inspectHeader(bytes)
  const hash = await sha256(bytes)
  const [banned] = await s.database.db
    .select({ hash: bannedPhotoHashes.hash })
    .from(bannedPhotoHashes)
    .where(eq(bannedPhotoHashes.hash, hash))
  if (banned) {
    throw bodyError(
      'validation_failed',
      'This picture was removed by a moderator and cannot be uploaded again',
    )
  }
  return { bytes, header, hash }
}

// ---------------------------------------------------------------------------------------------
// Processing

/** Where the square crop sits in the oriented image, in its pixels. */
export interface SquareCrop {
  left: number
  top: number
  side: number
}

/**
 * The square crop of side min(width, height) at the requested offsets, clamped into the image;
 * a missing offset centres the crop on that axis.
 *
 * @example
 * squareCrop({ width: 4000, height: 3000 }, { left: 9999 }) // { left: 1000, top: 0, side: 3000 }
 */
export function squareCrop(
  size: { width: number; height: number },
  offsets: { left?: number; top?: number } = {},
): SquareCrop {
  const side = Math.min(size.width, size.height)
  const clamp = (value: number | undefined, room: number) =>
    Math.min(room, Math.max(0, Math.round(value ?? room / 2)))
  return { side, left: clamp(offsets.left, size.width - side), top: clamp(offsets.top, size.height - side) }
}

/**
 * The transform that shows a stored image the way its EXIF orientation says. Cloudflare Images
 * flips before it rotates (clockwise); 5 and 7 are the transpose and transverse.
 */
export function orientationTransform(orientation: number): ImageTransform | undefined {
  switch (orientation) {
    case 2:
      return { flip: 'h' }
    case 3:
      return { rotate: 180 }
    case 4:
      return { flip: 'v' }
    case 5:
      return { flip: 'h', rotate: 270 }
    case 6:
      return { rotate: 90 }
    case 7:
      return { flip: 'h', rotate: 90 }
    case 8:
      return { rotate: 270 }
    default:
      return undefined
  }
}

const undecodable = () =>
  bodyError('validation_failed', 'The image could not be decoded; is the file damaged?')

/**
 * Images-binding error codes that mean "this input is bad" (not an image, too large, unsupported
 * format); anything else is the service failing and worth a retry.
 */
const badInputCodes = new Set([9402, 9412, 9413, 9520])

/**
 * Run one chain of transforms on the Images binding and return the encoded output. The binding
 * takes a stream per call; a Blob's stream re-reads the same bytes without copying them.
 */
async function render(
  s: Services,
  input: Blob,
  transforms: (ImageTransform | undefined)[],
  format: 'image/jpeg' | 'image/png',
): Promise<Uint8Array> {
  let bytes: Uint8Array
  try {
    let chain = s.env.IMAGES.input(input.stream())
    for (const t of transforms) if (t) chain = chain.transform(t)
    const result = await chain.output(format === 'image/jpeg' ? { format, quality: jpegQuality } : { format })
    bytes = new Uint8Array(await result.response().arrayBuffer())
  } catch (err) {
    const code = (err as { code?: unknown }).code
    s.log.warn('photos.images_binding_failed', { error: describeError(err), code })
    if (typeof code === 'number' && badInputCodes.has(code)) throw undecodable()
    throw new ApiError('service_unavailable', 'Image processing is unavailable; try again shortly', {
      cause: err,
    })
  }
  if (bytes.length === 0) throw undecodable()
  return bytes
}

/**
 * A rendered variant must be a whole image of the size asked for. An empty or unreadable output
 * means the input did not decode (422); a whole image of another size means the pipeline is
 * wrong, which must not be stored (500, logged).
 */
function checkOutput(
  s: Services,
  bytes: Uint8Array,
  format: 'jpeg' | 'png',
  expected: { width: number; height: number },
  variant: string,
): void {
  let header: ImageHeader
  try {
    header = readImageHeader(bytes)
  } catch {
    throw undecodable()
  }
  if (header.format !== format || header.width !== expected.width || header.height !== expected.height) {
    s.log.error('photos.unexpected_output', {
      variant,
      expected,
      got: { format: header.format, width: header.width, height: header.height },
    })
    throw new Error(`Images binding returned an unexpected ${variant} variant`)
  }
}

interface Rendered {
  original: Uint8Array
  squares: Map<number, Uint8Array>
  blurhash: string
}

/**
 * Render the requested variants of a validated upload. The original and the largest square come
 * from the upload itself, in parallel; each smaller square is resized from the one before it and
 * the blurhash source from the smallest. Only two renders then decode the full-size upload —
 * the costly part on the Images service, and the bytes the Worker streams to it — instead of one
 * per variant; downscaling an already-cropped 900 px JPEG by half loses nothing visible.
 */
async function renderVariants(
  s: Services,
  upload: Inspected,
  opts: {
    offsets?: { left?: number; top?: number }
    original: boolean
    squares: readonly number[]
    blurhash: boolean
  },
): Promise<Rendered> {
  const input = new Blob([withoutOrientation(upload.bytes, upload.header)])
  const orient = orientationTransform(upload.header.orientation)
  const size = orientedSize(upload.header)
  const crop = squareCrop(size, opts.offsets)
  const trim = { left: crop.left, top: crop.top, width: crop.side, height: crop.side }
  const resize = (side: number): ImageTransform => ({ width: side, height: side, fit: 'cover' })

  const original = opts.original
    ? render(s, input, [orient], 'image/jpeg').then((bytes) => {
        checkOutput(s, bytes, 'jpeg', size, 'original')
        return bytes
      })
    : Promise.resolve(new Uint8Array())

  const squaresAndBlurhash = (async () => {
    const squares = new Map<number, Uint8Array>()
    let previous: Blob | undefined
    for (const side of [...opts.squares].sort((a, b) => b - a)) {
      const bytes = previous
        ? await render(s, previous, [resize(side)], 'image/jpeg')
        : await render(s, input, [orient, { trim, ...resize(side) }], 'image/jpeg')
      checkOutput(s, bytes, 'jpeg', { width: side, height: side }, String(side))
      squares.set(side, bytes)
      previous = new Blob([bytes])
    }
    if (!opts.blurhash) return { squares, blurhash: '' }
    const source: (ImageTransform | undefined)[] = previous
      ? [resize(blurhashSide)]
      : [orient, { trim, ...resize(blurhashSide) }]
    const png = await render(s, previous ?? input, source, 'image/png')
    checkOutput(s, png, 'png', { width: blurhashSide, height: blurhashSide }, 'blurhash')
    const pixels = await decodePng(png)
    const blurhash = encodeBlurhash(
      pixels.data,
      pixels.width,
      pixels.height,
      blurhashComponents,
      blurhashComponents,
    )
    return { squares, blurhash }
  })()

  const [o, rest] = await Promise.all([original, squaresAndBlurhash])
  return { original: o, squares: rest.squares, blurhash: rest.blurhash }
}

/** Put objects to the images bucket, all or nothing from the caller's point of view. */
async function putImages(
  s: Services,
  objects: { key: string; body: Uint8Array; contentType: string }[],
): Promise<void> {
  const results = await Promise.allSettled(
    objects.map((o) =>
      s.env.IMAGES_BUCKET.put(o.key, o.body, {
        httpMetadata: { contentType: o.contentType, cacheControl: immutableCacheControl },
      }),
    ),
  )
  const failed = results.find((r) => r.status === 'rejected')
  if (failed) {
    await queueImageDeletions(
      s,
      objects.map((o) => o.key),
    )
    throw new ApiError('service_unavailable', 'Storing the image failed; try again shortly', {
      cause: (failed as PromiseRejectedResult).reason,
    })
  }
}

/**
 * Queue images-bucket keys for the storage clean-up cron — for objects written whose row never
 * was. If even that fails, delete them from R2 directly; if that fails too, log the keys, which
 * is all that is left to do.
 *
 * @example
 * await queueImageDeletions(s, [`450-${selfieId}.jpg`])
 */
export async function queueImageDeletions(s: Services, keys: string[]): Promise<void> {
  if (keys.length === 0) return
  try {
    await s.database.db
      .insert(storageDeletions)
      .values(keys.map((objectKey) => ({ bucket: 'images' as const, objectKey })))
      .onConflictDoNothing()
  } catch (err) {
    s.log.warn('photos.queue_deletion_failed', { error: describeError(err), keys })
    try {
      await s.env.IMAGES_BUCKET.delete(keys)
    } catch (deleteErr) {
      s.log.error('photos.orphaned_objects', { error: describeError(deleteErr), keys })
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Operations

/** The PostgreSQL error code of a failed query (drizzle wraps the driver's error as `cause`). */
function pgCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } }
  const code = typeof e.code === 'string' ? e.code : e.cause?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * Store a photo at `position` (1–7), replacing any photo there. The replacement gets a new id
 * (so `verified` starts over and cached URLs never go stale); the old objects are queued for
 * deletion by the database trigger. `offsets` place the square crop, in pixels of the
 * orientation-corrected original; missing ones centre it, out-of-range ones are clamped.
 *
 * @example
 * const { photo, created } = await putPhoto(s, userId, 1, bytes, { top: 120 })
 */
export async function putPhoto(
  s: Services,
  userId: string,
  position: number,
  bytes: Uint8Array,
  offsets: { left?: number; top?: number } = {},
): Promise<{ photo: PhotoRow; created: boolean }> {
  if (!Number.isInteger(position) || position < 1 || position > maxPhotos) {
    throw new ApiError('validation_failed', `Photo positions are 1 to ${maxPhotos}`, {
      errors: [{ path: 'param.position', message: `Must be an integer from 1 to ${maxPhotos}` }],
    })
  }
  const upload = await inspectUpload(s, bytes)
  const rendered = await renderVariants(s, upload, {
    offsets,
    original: true,
    squares: squareSizes,
    blurhash: true,
  })
  const id = newMediaId()
  const isGif = upload.header.format === 'gif'
  const size = orientedSize(upload.header)
  const objects = [
    { key: `original-${id}.jpg`, body: rendered.original, contentType: 'image/jpeg' },
    ...squareSizes.map((n) => ({
      key: `${n}-${id}.jpg`,
      body: rendered.squares.get(n)!,
      contentType: 'image/jpeg',
    })),
    ...(isGif ? [{ key: `${id}.gif`, body: bytes, contentType: 'image/gif' }] : []),
  ]
  await putImages(s, objects)

  const values = {
    id,
    userId,
    position,
    blurhash: rendered.blurhash,
    width: size.width,
    height: size.height,
    isGif,
    contentHash: upload.hash,
    verified: false,
  }
  try {
    // One statement, so two uploads racing for one position cannot both insert. `xmax = 0`
    // holds for a freshly inserted row and not for one ON CONFLICT updated: the 201/200 split.
    const [row] = await s.database.db
      .insert(photos)
      .values(values)
      .onConflictDoUpdate({
        target: [photos.userId, photos.position],
        set: {
          id,
          blurhash: values.blurhash,
          width: values.width,
          height: values.height,
          isGif,
          contentHash: values.contentHash,
          verified: false,
          createdAt: sql`now()`,
        },
      })
      .returning({ ...getTableColumns(photos), created: sql<boolean>`(xmax = 0)` })
    if (!row) throw new Error('photo upsert returned no row')
    const { created, ...photo } = row
    // A replaced photo is no longer verified: the level may have rested on it.
    if (!created) await refreshVerificationLevel(s, userId)
    return { photo, created }
  } catch (err) {
    await queueImageDeletions(
      s,
      objects.map((o) => o.key),
    )
    // The account was deleted while its upload was being processed.
    if (pgCode(err) === '23503') throw new ApiError('unauthorized', 'This account no longer exists')
    throw err
  }
}

/**
 * Delete the photo at `position`; its objects are queued for deletion by the database trigger.
 * 404 when there is none — including when the position is someone else's: the caller's id
 * scopes the statement.
 *
 * @example
 * await deletePhoto(s, userId, 3)
 */
export async function deletePhoto(s: Services, userId: string, position: number): Promise<void> {
  const deleted = await s.database.db
    .delete(photos)
    .where(and(eq(photos.userId, userId), eq(photos.position, position)))
    .returning({ id: photos.id })
  if (deleted.length === 0) throw new ApiError('not_found', `There is no photo at position ${position}`)
  await refreshVerificationLevel(s, userId)
}

/**
 * Move photos: `assignments` maps a current position to its new one (the app's
 * `photo_assignments`). Every source must hold a photo, no two may land on one position, and a
 * target must be empty or itself moved away. Done in one transaction, in two statements: moved
 * rows first go to their negated targets (never colliding with live positions, and distinct from
 * each other), then flip sign — the unique index is checked row by row, so a direct swap would
 * collide midway.
 *
 * @example
 * await reorderPhotos(s, userId, { 1: 3, 3: 1 }) // swap the first and third photo
 */
export async function reorderPhotos(
  s: Services,
  userId: string,
  assignments: Record<string, number>,
): Promise<PhotoRow[]> {
  const moves = Object.entries(assignments).map(([from, to]) => ({ from: Number(from), to }))
  const errors: FieldError[] = []
  const field = (from: number) => `json.assignments.${from}`
  const seen = new Map<number, number>()
  for (const { from, to } of moves) {
    const other = seen.get(to)
    if (other !== undefined)
      errors.push({ path: field(from), message: `Position ${to} is also the target of ${other}` })
    else seen.set(to, from)
  }
  if (errors.length)
    throw new ApiError('validation_failed', 'Two photos cannot move to one position', { errors })

  try {
    return await s.database.transaction(async (tx) => {
      // Locks the member's rows: a concurrent upload or reorder waits instead of interleaving.
      const current = await tx
        .select({ position: photos.position })
        .from(photos)
        .where(eq(photos.userId, userId))
        .for('update')
      const occupied = new Set(current.map((r) => r.position))
      const sources = new Set(moves.map((m) => m.from))
      for (const { from, to } of moves) {
        if (!occupied.has(from))
          errors.push({ path: field(from), message: `There is no photo at position ${from}` })
        else if (occupied.has(to) && !sources.has(to)) {
          errors.push({ path: field(from), message: `Position ${to} holds a photo that is not being moved` })
        }
      }
      if (errors.length)
        throw new ApiError('validation_failed', 'The photos cannot be moved that way', { errors })

      const real = moves.filter((m) => m.from !== m.to)
      if (real.length > 0) {
        const target = sql.join(
          real.map((m) => sql`when ${m.from} then ${-m.to}`),
          sql` `,
        )
        await tx
          .update(photos)
          .set({ position: sql`(case ${photos.position} ${target} end)::smallint` })
          .where(
            and(
              eq(photos.userId, userId),
              sql`${photos.position} in (${sql.join(
                real.map((m) => sql`${m.from}`),
                sql`, `,
              )})`,
            ),
          )
        await tx
          .update(photos)
          .set({ position: sql`-${photos.position}` })
          .where(and(eq(photos.userId, userId), lt(photos.position, 0)))
      }
      return tx.select().from(photos).where(eq(photos.userId, userId)).orderBy(asc(photos.position))
    })
  } catch (err) {
    // A photo uploaded to a target position between the lock and the move (an insert takes no
    // lock the select could see): the member's photos changed under the request.
    if (pgCode(err) === '23505') {
      throw new ApiError('conflict', 'Your photos changed while moving them; reload and try again')
    }
    throw err
  }
}

/**
 * Store a verification selfie: the same checks as a photo (format, declared size, truncation,
 * banned files), rendered only as a 450 × 450 centre crop, `450-<selfieId>.jpg` in the images
 * bucket. Writes no row: the caller records `selfieId` and `hash` (SHA-256 hex of the uploaded
 * bytes), and if that write fails it should pass the key to {@link queueImageDeletions}.
 *
 * @example
 * const { selfieId, hash } = await storeSelfie(s, userId, bytes)
 */
export async function storeSelfie(
  s: Services,
  userId: string,
  bytes: Uint8Array,
): Promise<{ selfieId: string; hash: string }> {
  const upload = await inspectUpload(s, bytes)
  const rendered = await renderVariants(s, upload, { original: false, squares: [450], blurhash: false })
  const selfieId = newMediaId()
  await putImages(s, [
    { key: `450-${selfieId}.jpg`, body: rendered.squares.get(450)!, contentType: 'image/jpeg' },
  ])
  s.log.debug('photos.selfie_stored', { userId, selfieId })
  return { selfieId, hash: upload.hash }
}
