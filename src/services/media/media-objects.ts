import { storageDeletions } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { describeError } from '../../lib/log'
import type { Services } from '..'

/** Objects in the media buckets: their random ids, their caching, writing them and queuing their deletion. */

/** Objects never change under a key (ids are random and never reused): cache them forever. */
export const immutableCacheControl = 'public, max-age=31536000, immutable'

export const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/** 32 random bytes as hex: the schema's id format for photos, selfies and voice bios. */
export function newMediaId(): string {
  return hex(crypto.getRandomValues(new Uint8Array(32)))
}

/** Put objects to the images bucket, all or nothing from the caller's point of view. */
export async function putImages(
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
