import { and, asc, eq, getTableColumns, lt, sql } from 'drizzle-orm'
import { isUniqueViolation } from '../../db/errors'
import { photos } from '../../db/schema'
import { orientedSize } from '../../lib/codecs/image-header'
import { ApiError, type FieldError } from '../../lib/http/errors'
import { postgresErrorOf } from '../../lib/log'
import { refreshVerificationLevel } from '../verification/level'
import { renderVariants } from './image-variants'
import { newMediaId, putImages, queueImageDeletions } from './media-objects'
import { type PhotoRow, maxPhotos, squareSizes } from './photo-view'
import { inspectUpload } from './upload-checks'
import type { Services } from '..'

/**
 * Member photos: validation before any decode (upload-checks.ts), processing on the Cloudflare
 * Images binding (image-variants.ts), variants in the images bucket (media-objects.ts), rows in
 * `photos` (here: list, put, delete, reorder).
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
// Operations

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
    if (postgresErrorOf(err)?.code === '23503')
      throw new ApiError('unauthorized', 'This account no longer exists')
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
    if (isUniqueViolation(err)) {
      throw new ApiError('conflict', 'Your photos changed while moving them; reload and try again')
    }
    throw err
  }
}
