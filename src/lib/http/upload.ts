import { z } from '@hono/zod-openapi'
import type { Context, MiddlewareHandler } from 'hono'
import type { AppEnv } from '../../types'
import { bodyLimit } from 'hono/body-limit'
import { ApiError } from './errors'

/**
 * Media uploads (photos, voice bios, verification selfies) are sent as the raw file in the
 * request body — no base64 (a third larger) and no multipart parsing. Their routes are exempt
 * from the app-wide JSON body limit (MAX_BODY_BYTES) and apply {@link uploadBodyLimit} instead.
 * The declared Content-Type is ignored: every handler sniffs the bytes.
 */

/** Largest accepted media file (10 MB: a phone photo or a minute of audio fits with room to spare). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024

const uploadRoutes: { method: string; path: RegExp }[] = [
  { method: 'PUT', path: /^\/api\/v1\/me\/photos\/[^/]+$/ },
  { method: 'PUT', path: /^\/api\/v1\/me\/voice-bio$/ },
  { method: 'PUT', path: /^\/api\/v1\/me\/verification\/selfie$/ },
  { method: 'PUT', path: /^\/api\/v1\/conversations\/[^/]+\/voice$/ },
]

/** Whether a request is a media upload, which the app-wide body limit leaves to the route. */
export function isUploadRoute(method: string, path: string): boolean {
  return uploadRoutes.some((r) => r.method === method && r.path.test(path))
}

/**
 * Route middleware for upload routes: 413 `payload_too_large` beyond {@link MAX_UPLOAD_BYTES},
 * whether or not the client sent Content-Length (a chunked body is counted as it streams).
 *
 * @example
 * createRoute({ method: 'put', path: '/api/v1/me/voice-bio', middleware: [requireAuth, uploadBodyLimit] as const, … })
 */
export const uploadBodyLimit: MiddlewareHandler<AppEnv> = bodyLimit({
  maxSize: MAX_UPLOAD_BYTES,
  onError: () => {
    throw new ApiError('payload_too_large', `Files may be at most ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`)
  },
})

/**
 * The uploaded file's bytes; 422 on an empty body, naming `body`.
 *
 * @example
 * const bytes = await readUpload(c)
 */
export async function readUpload(c: Context): Promise<Uint8Array> {
  const bytes = new Uint8Array(await c.req.arrayBuffer())
  if (bytes.byteLength === 0) {
    throw new ApiError('validation_failed', 'The request body must be the file', {
      errors: [{ path: 'body', message: 'Empty body' }],
    })
  }
  return bytes
}

/** OpenAPI request body for a raw-file upload accepting `mediaTypes`. */
export function uploadBody(description: string, mediaTypes: string[]) {
  const schema = z.string().openapi({ type: 'string', format: 'binary' })
  return {
    required: true,
    description: `${description} Send the file itself as the body (≤ 10 MB); the Content-Type header is not trusted — the bytes are sniffed.`,
    content: Object.fromEntries(mediaTypes.map((t) => [t, { schema }])),
  }
}
