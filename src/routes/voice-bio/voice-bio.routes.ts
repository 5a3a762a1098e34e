import { createRoute } from '@hono/zod-openapi'
import { createMiddleware } from 'hono/factory'
import { ApiError } from '../../lib/http/errors'
import { errorResponses } from '../../lib/http/openapi'
import { uploadBody, uploadBodyLimit } from '../../lib/http/upload'
import { requireAuth } from '../../middleware/auth'
import { VoiceBioSchema, maxVoiceBioMs } from '../../services/media/voice-bio'
import type { AppEnv } from '../../types'

const tags = ['Voice bio']
const security = [{ bearerAuth: [] }]

/** Onboarding and active members; a deactivated account reactivates first (by signing in). */
const canEditVoiceBio = createMiddleware<AppEnv>(async (c, next) => {
  const status = c.get('account')?.status
  if (status !== 'onboarding' && status !== 'active') {
    throw new ApiError('forbidden', 'Reactivate your account to change its voice bio')
  }
  await next()
})

const json = { 'application/json': { schema: VoiceBioSchema } }

export const getVoiceBio = createRoute({
  method: 'get',
  path: '/api/v1/me/voice-bio',
  operationId: 'getVoiceBio',
  tags,
  summary: 'My voice bio',
  security,
  middleware: [requireAuth, canEditVoiceBio] as const,
  responses: {
    200: { description: 'My voice bio', content: json },
    ...errorResponses(401, 403, 404),
  },
})

export const putVoiceBio = createRoute({
  method: 'put',
  path: '/api/v1/me/voice-bio',
  operationId: 'putVoiceBio',
  tags,
  summary: 'Upload or replace my voice bio',
  description:
    `A recording of at most ${maxVoiceBioMs / 1000} seconds and 10 MB, sent as the raw body and stored as uploaded: ` +
    `AAC in MP4/M4A or ADTS (.aac), MP3, or Opus in Ogg or WebM (what phones and browsers' MediaRecorder produce; ` +
    `WebM without a Duration element is fine). The format is read from the bytes, never from Content-Type. Refused: ` +
    `other codecs and containers (Vorbis, FLAC, ALAC, WAV, AMR, video…) with 415; truncated or damaged files, ` +
    `recordings that are too long, and files whose size or declared duration does not match the audio they hold with 422. ` +
    `Mono or stereo only. A replacement gets a new id and URL; the old recording is deleted shortly after.`,
  security,
  middleware: [requireAuth, canEditVoiceBio, uploadBodyLimit] as const,
  request: {
    body: uploadBody('The audio file.', [
      'audio/mp4',
      'audio/aac',
      'audio/mpeg',
      'audio/ogg',
      'audio/webm',
      'application/octet-stream',
    ]),
  },
  responses: {
    200: { description: 'Replaced my voice bio', content: json },
    201: { description: 'Stored my first voice bio', content: json },
    ...errorResponses(401, 403, 413, 415, 422, 503),
  },
})

export const deleteVoiceBio = createRoute({
  method: 'delete',
  path: '/api/v1/me/voice-bio',
  operationId: 'deleteVoiceBio',
  tags,
  summary: 'Delete my voice bio',
  security,
  middleware: [requireAuth, canEditVoiceBio] as const,
  responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404) },
})
