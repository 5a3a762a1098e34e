import { z } from '@hono/zod-openapi'
import { eq, getTableColumns, sql } from 'drizzle-orm'
import type { Config } from '../../config'
import { storageDeletions, voiceBios } from '../../db/schema'
import { type AudioInfo, AudioProbeError, formatSeconds, probeAudio } from '../../lib/codecs/audio-probe'
import { ApiError } from '../../lib/http/errors'
import { describeError } from '../../lib/log'
import { mediaUrl } from './media-url'
import type { Services } from '..'
import { immutableCacheControl, newMediaId } from './media-objects'

/**
 * Voice bios: one short recording per member, stored exactly as uploaded (no transcoding) under
 * `<id>.<ext>` in the audio bucket, described by a row in `voice_bios`. What is accepted and how
 * a file is vetted without decoding it is {@link probeAudio}'s business; the rules that are
 * product policy (the length limit) live here.
 *
 * Write order: the object is put to R2 first, then the row is written, so a row never points at
 * a missing object. Replacing changes `object_key`, and the database trigger (migrations/0005)
 * queues the old key for the storage clean-up cron; so does deleting the row, including through
 * account deletion. If the row cannot be written, the new object is queued here instead.
 */

/** Voice bios last at most two minutes. */
export const maxVoiceBioMs = 120_000
/**
 * Recorders that stop "at 120 s" produce a few tens of milliseconds more (AAC priming, the last
 * partial frame, timer latency): a second of grace, so
 * a recording made against a two-minute timer is never refused for being 120.05 s.
 */
const durationGraceMs = 1_000

export type VoiceBioRow = typeof voiceBios.$inferSelect

export const VoiceBioSchema = z
  .object({
    id: z.string().regex(/^[0-9a-f]{64}$/),
    contentType: z
      .enum(['audio/mp4', 'audio/aac', 'audio/mpeg', 'audio/ogg', 'audio/webm'])
      .openapi({ description: 'As stored and served; the uploaded file is kept as is' }),
    codec: z.enum(['aac', 'mp3', 'opus']),
    durationMs: z.number().int().openapi({ example: 23_480 }),
    bytes: z.number().int(),
    url: z.url().openapi({ description: 'Immutable URL of the recording: cache it forever' }),
    createdAt: z.iso.datetime(),
  })
  .openapi('VoiceBio')

export type VoiceBio = z.infer<typeof VoiceBioSchema>

/**
 * The API view of a voice bio row.
 *
 * @example
 * voiceBioView(row, s.config).url // 'https://…/media/audio/<id>.webm'
 */
export function voiceBioView(row: VoiceBioRow, config: Config): VoiceBio {
  return {
    id: row.id,
    contentType: row.contentType as VoiceBio['contentType'],
    codec: row.codec as VoiceBio['codec'],
    durationMs: row.durationMs,
    bytes: row.bytes,
    url: mediaUrl(config, 'audio', row.objectKey),
    createdAt: row.createdAt.toISOString(),
  }
}

/**
 * A member's voice bio, or null when they have none.
 *
 * @example
 * const row = await getVoiceBio(s, profileUserId)
 * const voiceBio = row ? voiceBioView(row, s.config) : null
 */
export async function getVoiceBio(s: Services, userId: string): Promise<VoiceBioRow | null> {
  const [row] = await s.database.db.select().from(voiceBios).where(eq(voiceBios.userId, userId))
  return row ?? null
}

const bodyError = (code: 'validation_failed' | 'unsupported_media_type', detail: string) =>
  new ApiError(code, detail, { errors: [{ path: 'body', message: detail }] })

/**
 * Vet an upload: 415 for what is not audio or not an accepted format, 422 for a broken or
 * implausible file and for one longer than {@link maxVoiceBioMs}.
 *
 * @example
 * const info = inspectVoiceBio(bytes) // { contentType: 'audio/webm', durationMs: 21_040, … }
 */
export function inspectVoiceBio(bytes: Uint8Array): AudioInfo {
  let info: AudioInfo
  try {
    info = probeAudio(bytes)
  } catch (err) {
    if (!(err instanceof AudioProbeError)) throw err
    const unsupported = err.problem === 'not-audio' || err.problem === 'unsupported'
    throw bodyError(unsupported ? 'unsupported_media_type' : 'validation_failed', err.message)
  }
  if (info.durationMs > maxVoiceBioMs + durationGraceMs) {
    throw bodyError(
      'validation_failed',
      `Voice bios may be at most ${maxVoiceBioMs / 1000} seconds; this recording is ${formatSeconds(info.durationMs)}`,
    )
  }
  return info
}

/**
 * Store `bytes` as the member's voice bio, replacing any previous one (whose object the trigger
 * queues for deletion). `created` tells a first upload from a replacement.
 *
 * @example
 * const { row, created } = await putVoiceBio(s, caller.userId, await readUpload(c))
 */
export async function putVoiceBio(
  s: Services,
  userId: string,
  bytes: Uint8Array,
): Promise<{ row: VoiceBioRow; created: boolean }> {
  const info = inspectVoiceBio(bytes)
  const id = newMediaId()
  const objectKey = `${id}.${info.extension}`
  try {
    await s.env.AUDIO_BUCKET.put(objectKey, bytes, {
      httpMetadata: { contentType: info.contentType, cacheControl: immutableCacheControl },
    })
  } catch (err) {
    throw new ApiError('service_unavailable', 'Storing the recording failed; try again shortly', {
      cause: err,
    })
  }
  const values = {
    id,
    objectKey,
    contentType: info.contentType,
    codec: info.codec,
    durationMs: info.durationMs,
    bytes: bytes.byteLength,
    createdAt: s.clock.now(),
  }
  try {
    const [written] = await s.database.db
      .insert(voiceBios)
      .values({ userId, ...values })
      .onConflictDoUpdate({ target: voiceBios.userId, set: values })
      // xmax is 0 on a freshly inserted row version, and set on one that replaced another.
      .returning({ ...getTableColumns(voiceBios), created: sql<boolean>`(xmax = 0)` })
    const { created, ...row } = written!
    return { row, created }
  } catch (err) {
    await queueOrphan(s, objectKey)
    throw err
  }
}

/**
 * Remove the member's voice bio (404 when there is none); the trigger queues its object.
 *
 * @example
 * await deleteVoiceBio(s, caller.userId)
 */
export async function deleteVoiceBio(s: Services, userId: string): Promise<void> {
  const deleted = await s.database.db
    .delete(voiceBios)
    .where(eq(voiceBios.userId, userId))
    .returning({ id: voiceBios.id })
  if (deleted.length === 0) throw new ApiError('not_found', 'You have no voice bio')
}

/**
 * Queue an object whose row could not be written. The clean-up cron re-checks references before
 * deleting, so this is safe even when the failed write did in fact commit. If even the queue is
 * unreachable the object is left in place (an orphan costs storage; deleting it could break a
 * row that did commit) and logged for an operator.
 */
async function queueOrphan(s: Services, objectKey: string): Promise<void> {
  try {
    await s.database.db.insert(storageDeletions).values({ bucket: 'audio', objectKey }).onConflictDoNothing()
  } catch (err) {
    s.log.error('voice_bio.orphaned_object', { error: describeError(err), bucket: 'audio', objectKey })
  }
}
