import { and, asc, eq, exists, inArray, lte, or, sql } from 'drizzle-orm'
import { messages, photos, storageDeletions, verifications, voiceBios } from '../../db/schema'
import { describeError } from '../../lib/log'
import type { Services } from '..'

/**
 * Drains `storage_deletions`, the queue of R2 objects no row points at any more. Triggers fill it
 * (migrations/0005: replaced or deleted photos, voice bios and verification selfies, including
 * through account deletion), and so do upload paths whose row could not be written.
 *
 * Guarantees:
 * - **Never deletes an object still referenced.** Each key is re-checked against the tables that
 *   name objects (photos by the id inside the key, `voice_bios.object_key`, voice messages'
 *   `messages.audio_key`, the `450-<selfie_id>.jpg` of verifications) right before deletion; a
 *   referenced key is dropped from the queue and kept. This covers an upload that queued its
 *   object after a write that looked failed but had in fact committed. (Should that very row be
 *   deleted while this run holds the key, the trigger's insert finds the key still queued and the
 *   run then drops it: the object is leaked, never wrongly deleted.)
 * - **Queue rows go only after R2 confirmed.** Rows of a failed R2 call stay queued for the next
 *   run; deleting a key that is already gone is a no-op in R2, so a retry is harmless.
 * - **Overlapping runs do not collide.** A batch is claimed with `FOR UPDATE SKIP LOCKED` in a
 *   transaction that lasts until its rows are removed, so a second run takes other rows (or
 *   none) instead of repeating the same deletions.
 * - **Bounded.** At most `batchSize × maxBatches` keys per run, R2 calls of at most 1000 keys
 *   (the API's limit); the rest waits for the next run.
 */

/** R2's DeleteObjects limit per call. */
const r2DeleteLimit = 1000

/**
 * How long a key waits in the queue before it is deleted. Clients that loaded a profile just
 * before its photo or voice bio was replaced still hold the old URL; an hour lets those views
 * finish instead of showing broken media. Production deletion is therefore ≤ 1 h + the cron
 * interval after the row let go of the object.
 */
export const storageDeletionGraceMs = 60 * 60 * 1000

export interface StorageCleanupResult {
  /** Keys deleted from R2 (or confirmed absent) and removed from the queue. */
  deleted: number
  /** Keys still referenced by a row: removed from the queue, object kept. */
  kept: number
  /** Keys whose R2 call failed: still queued. */
  failed: number
}

type Bucket = (typeof storageDeletions.$inferSelect)['bucket']

/**
 * Delete queued objects from R2, oldest first. Safe to run late, twice or concurrently.
 *
 * @example
 * const { deleted, kept, failed } = await cleanStorage(s, { batchSize: 1000, maxBatches: 10 })
 */
export async function cleanStorage(
  s: Services,
  opts: { batchSize: number; maxBatches?: number; graceMs?: number },
): Promise<StorageCleanupResult> {
  const total: StorageCleanupResult = { deleted: 0, kept: 0, failed: 0 }
  const cutoff = new Date(s.clock.now().getTime() - (opts.graceMs ?? storageDeletionGraceMs))
  for (let i = 0; i < (opts.maxBatches ?? 1); i++) {
    const { claimed, ...result } = await cleanBatch(s, opts.batchSize, cutoff)
    total.deleted += result.deleted
    total.kept += result.kept
    total.failed += result.failed
    // A short batch means the queue is drained; a failure means R2 is unwell: stop either way.
    if (claimed < opts.batchSize || result.failed > 0) break
  }
  return total
}

async function cleanBatch(
  s: Services,
  batchSize: number,
  cutoff: Date,
): Promise<StorageCleanupResult & { claimed: number }> {
  const buckets: Record<Bucket, R2Bucket> = { images: s.env.IMAGES_BUCKET, audio: s.env.AUDIO_BUCKET }
  return s.database.transaction(async (tx) => {
    const batch = await tx
      .select({
        id: storageDeletions.id,
        bucket: storageDeletions.bucket,
        objectKey: storageDeletions.objectKey,
      })
      .from(storageDeletions)
      .where(lte(storageDeletions.queuedAt, cutoff))
      .orderBy(asc(storageDeletions.id))
      .limit(batchSize)
      .for('update', { skipLocked: true })
    if (batch.length === 0) return { deleted: 0, kept: 0, failed: 0, claimed: 0 }

    const ids = batch.map((r) => r.id)
    const d = storageDeletions
    // The 64-hex id inside a key: `<id>.<ext>`, `original-<id>.jpg`, `450-<id>.jpg` …
    const keyId = sql`substring(${d.objectKey} from '[0-9a-f]{64}')`
    const one = sql`1`
    const referenced = await tx
      .select({ id: d.id })
      .from(d)
      .where(
        and(
          inArray(d.id, ids),
          or(
            and(
              eq(d.bucket, 'audio'),
              or(
                exists(
                  tx
                    .select({ one })
                    .from(voiceBios)
                    .where(and(eq(voiceBios.id, keyId), eq(voiceBios.objectKey, d.objectKey))),
                ),
                exists(tx.select({ one }).from(messages).where(eq(messages.audioKey, d.objectKey))),
              ),
            ),
            and(
              eq(d.bucket, 'images'),
              or(
                exists(tx.select({ one }).from(photos).where(eq(photos.id, keyId))),
                exists(
                  tx
                    .select({ one })
                    .from(verifications)
                    .where(sql`'450-' || ${verifications.selfieId} || '.jpg' = ${d.objectKey}`),
                ),
              ),
            ),
          ),
        ),
      )
    const keep = new Set(referenced.map((r) => r.id))
    const done = [...keep]
    let deleted = 0
    let failed = 0
    for (const bucket of ['images', 'audio'] as const) {
      const rows = batch.filter((r) => r.bucket === bucket && !keep.has(r.id))
      for (let at = 0; at < rows.length; at += r2DeleteLimit) {
        const chunk = rows.slice(at, at + r2DeleteLimit)
        try {
          await buckets[bucket].delete(chunk.map((r) => r.objectKey))
          done.push(...chunk.map((r) => r.id))
          deleted += chunk.length
        } catch (err) {
          failed += chunk.length
          s.log.error('storage_cleanup.r2_delete_failed', {
            bucket,
            keys: chunk.length,
            error: describeError(err),
          })
        }
      }
    }
    if (done.length > 0) await tx.delete(d).where(inArray(d.id, done))
    return { deleted, kept: keep.size, failed, claimed: batch.length }
  })
}
