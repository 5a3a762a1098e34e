import type { RouteHandler } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { ApiError } from '../../lib/http/errors'
import { immutableCacheControl } from '../../services/media/media-objects'
import type { AppEnv } from '../../types'
import { keyPatterns } from './media.routes'
import type * as routes from './media.routes'

/**
 * Stream stored media from R2. Objects are immutable (random ids, never rewritten), which makes
 * the HTTP side simple: one strong ETag per key forever, `immutable` caching, and byte ranges
 * that can never straddle two versions.
 */

type Bucket = keyof typeof keyPatterns

/** Content types by extension, for objects stored without one. */
const typeByExtension: Record<string, string> = {
  jpg: 'image/jpeg',
  gif: 'image/gif',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  opus: 'audio/ogg',
  webm: 'audio/webm',
}

/** RFC 9110 §13.1.2 weak comparison for If-None-Match: `W/` ignored, `*` matches. */
function noneMatch(header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  const opaque = etag.replace(/^W\//, '')
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === opaque)
}

type RangeRequest = { offset: number; length: number } | 'unsatisfiable' | undefined

/**
 * One byte range of an object of `size` bytes (RFC 9110 §14.1.2). Undefined — serve the whole
 * object — for anything that is not a single valid range: several ranges (allowed to be ignored)
 * and malformed ones (which must be).
 */
export function parseRange(header: string, size: number): RangeRequest {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!match || (match[1] === '' && match[2] === '')) return undefined
  if (match[1] === '') {
    const suffix = Number(match[2])
    if (suffix === 0 || size === 0) return 'unsatisfiable'
    const length = Math.min(suffix, size)
    return { offset: size - length, length }
  }
  const first = Number(match[1])
  const last = match[2] === '' ? Infinity : Number(match[2])
  if (last < first) return undefined
  if (first >= size) return 'unsatisfiable'
  return { offset: first, length: Math.min(last, size - 1) - first + 1 }
}

function objectHeaders(object: R2Object, key: string): Headers {
  const headers = new Headers()
  headers.set('Content-Type', object.httpMetadata?.contentType ?? typeByExtension[key.split('.').pop()!]!)
  headers.set('ETag', object.httpEtag)
  headers.set('Cache-Control', immutableCacheControl)
  headers.set('Last-Modified', object.uploaded.toUTCString())
  headers.set('Accept-Ranges', 'bytes')
  return headers
}

async function serve(c: Context<AppEnv>, bucket: Bucket, key: string): Promise<Response> {
  const notFound = () => new ApiError('not_found', `No ${bucket === 'images' ? 'image' : 'recording'} ${key}`)
  if (!keyPatterns[bucket].test(key)) throw notFound()
  const store = bucket === 'images' ? c.env.IMAGES_BUCKET : c.env.AUDIO_BUCKET
  const ifNoneMatch = c.req.header('If-None-Match')
  const rangeHeader = c.req.header('Range')
  const head = c.req.method === 'HEAD'

  // Metadata first when it decides the answer (304, 416, the range arithmetic, HEAD); a plain GET
  // goes straight for the body.
  let meta: R2Object | null = null
  if (ifNoneMatch || rangeHeader || head) {
    meta = await store.head(key)
    if (!meta) throw notFound()
    const headers = objectHeaders(meta, key)
    if (ifNoneMatch && noneMatch(ifNoneMatch, meta.httpEtag)) {
      headers.delete('Content-Type')
      return c.body(null, 304, Object.fromEntries(headers))
    }
  }

  let range: { offset: number; length: number } | undefined
  if (rangeHeader && meta) {
    // If-Range: the range is only wanted if the client's copy is this exact object.
    const ifRange = c.req.header('If-Range')
    const wanted =
      ifRange === undefined || ifRange === meta.httpEtag ? parseRange(rangeHeader, meta.size) : undefined
    if (wanted === 'unsatisfiable') {
      throw new ApiError('range_not_satisfiable', `The object has ${meta.size} bytes`, {
        headers: { 'Content-Range': `bytes */${meta.size}` },
      })
    }
    range = wanted
  }

  if (head && meta) {
    const headers = objectHeaders(meta, key)
    headers.set('Content-Length', String(range ? range.length : meta.size))
    if (range)
      headers.set('Content-Range', `bytes ${range.offset}-${range.offset + range.length - 1}/${meta.size}`)
    return c.body(null, range ? 206 : 200, Object.fromEntries(headers))
  }

  const object = await store.get(key, range ? { range } : {})
  if (!object) throw notFound()
  const headers = objectHeaders(object, key)
  if (range) {
    headers.set('Content-Range', `bytes ${range.offset}-${range.offset + range.length - 1}/${object.size}`)
    headers.set('Content-Length', String(range.length))
    return c.body(object.body, 206, Object.fromEntries(headers))
  }
  headers.set('Content-Length', String(object.size))
  return c.body(object.body, 200, Object.fromEntries(headers))
}

export const getImage: RouteHandler<typeof routes.getImage, AppEnv> = (c) =>
  serve(c, 'images', c.req.valid('param').key)

export const getAudio: RouteHandler<typeof routes.getAudio, AppEnv> = (c) =>
  serve(c, 'audio', c.req.valid('param').key)
