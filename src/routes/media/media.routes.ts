import { createRoute, z } from '@hono/zod-openapi'
import { ProblemSchema, errorResponses } from '../../lib/http/openapi'
import { problemContentType } from '../../lib/http/problem'

const tags = ['Media']

/**
 * Object keys as the services write them: random 64-hex ids, never reused. Anything else cannot
 * exist and is answered 404 without touching R2.
 */
export const keyPatterns = {
  images: /^(?:(?:original|900|450)-[0-9a-f]{64}\.jpg|[0-9a-f]{64}\.gif)$/,
  audio: /^[0-9a-f]{64}\.(?:m4a|aac|mp3|ogg|webm|opus)$/,
} as const

const binary = z.string().openapi({ type: 'string', format: 'binary' })

const headers = {
  ETag: { description: 'Strong validator of the object', schema: { type: 'string' as const } },
  'Cache-Control': {
    description: '`public, max-age=31536000, immutable`: a key never changes content',
    schema: { type: 'string' as const },
  },
  'Accept-Ranges': { description: '`bytes`', schema: { type: 'string' as const } },
}

function mediaRoute(
  bucket: keyof typeof keyPatterns,
  operationId: string,
  mediaTypes: string[],
  what: string,
) {
  const content = Object.fromEntries(mediaTypes.map((t) => [t, { schema: binary }]))
  return createRoute({
    method: 'get',
    path: `/media/${bucket}/{key}`,
    operationId,
    tags,
    summary: `Download ${what}`,
    description:
      `Public and cacheable forever: keys are unguessable random ids and never change content. ` +
      `HEAD is answered too. Supports \`If-None-Match\` (304) and single \`Range\` requests (206; \`If-Range\` honoured). ` +
      `Used when no public bucket hostname is configured (see the media URLs in API responses). Not rate limited.`,
    request: {
      params: z.object({
        key: z.string().openapi({
          param: { name: 'key', in: 'path' },
          pattern: keyPatterns[bucket].source,
          description: 'Object key, as in the URLs the API returns',
        }),
      }),
    },
    responses: {
      200: { description: 'The object', headers, content },
      206: {
        description: 'The requested byte range',
        headers: { ...headers, 'Content-Range': { schema: { type: 'string' as const } } },
        content,
      },
      304: { description: 'Not modified (the `If-None-Match` ETag matches)' },
      416: {
        description: 'The `Range` starts beyond the end of the object',
        content: { [problemContentType]: { schema: ProblemSchema } },
      },
      ...errorResponses(404),
    },
  })
}

export const getImage = mediaRoute('images', 'getImage', ['image/jpeg', 'image/gif'], 'a photo variant')
export const getAudio = mediaRoute(
  'audio',
  'getAudio',
  ['audio/mp4', 'audio/aac', 'audio/mpeg', 'audio/ogg', 'audio/webm'],
  'a voice recording',
)
