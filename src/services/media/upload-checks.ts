import { eq } from 'drizzle-orm'
import { bannedPhotoHashes } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import {
  type ImageHeader,
  ImageHeaderError,
  orientedSize,
  readImageHeader,
} from '../../lib/codecs/image-header'
import { hex } from './media-objects'
import type { Services } from '..'

/**
 * Checks on an uploaded image before anything decodes it: format, declared size and animation
 * budget from the container, then its SHA-256 against the moderator-banned files.
 */

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

// ---------------------------------------------------------------------------------------------
// Validation

export const bodyError = (code: 'validation_failed' | 'unsupported_media_type', detail: string) =>
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

async function sha256(bytes: Uint8Array): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)))
}

export interface Inspected {
  bytes: Uint8Array
  header: ImageHeader
  hash: string
}

/** Everything that can be checked without decoding, cheapest first. */
export async function inspectUpload(s: Services, bytes: Uint8Array): Promise<Inspected> {
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
