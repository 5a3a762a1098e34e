import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../types'

/**
 * HTTP caching, fixing the boilerplate's `Cache-Control: public` on every response (errors and
 * personal data included). Two pieces:
 *
 * - {@link privateByDefault}, global: a response that says nothing about caching gets
 *   `private, no-store` when the request carried credentials or the response sets a cookie, so
 *   no shared cache (CDN, corporate proxy) ever stores a member's data by omission.
 * - {@link publicCache}, per route, opt-in for anonymous-safe GETs: `public, max-age` and a weak
 *   ETag over the body, answering `If-None-Match` with 304.
 */

const privateNoStore = 'private, no-store'

/**
 * Global middleware: `Cache-Control: private, no-store` on any response that lacks
 * `Cache-Control` when the request had an `Authorization` header or the response sets cookies.
 * Bearer-authenticated handlers therefore set nothing themselves; only responses that are
 * personal without either (token responses to mobile sign-in, capability-URL downloads) set
 * `no-store` explicitly. Responses that chose a policy ({@link publicCache}) are left alone.
 *
 * @example
 * app.use(privateByDefault)
 */
export const privateByDefault = createMiddleware<AppEnv>(async (c, next) => {
  await next()
  if (c.res.headers.has('Cache-Control')) return
  if (c.req.header('Authorization') || c.res.headers.has('Set-Cookie')) {
    c.res.headers.set('Cache-Control', privateNoStore)
  }
})

/** Base64url without padding: short and header-safe. */
function base64url(bytes: ArrayBuffer): string {
  let binary = ''
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte)
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** RFC 9110 weak comparison: `W/` is ignored, `*` matches anything. */
function matches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch.trim() === '*') return true
  const opaque = etag.replace(/^W\//, '')
  return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === opaque)
}

/** Headers a 304 must repeat from the 200 it stands for (RFC 9110 §15.4.5), plus our request id. */
const kept304 = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'x-request-id']

async function weakEtag(res: Response): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', await res.clone().arrayBuffer())
  // 16 bytes of SHA-256 are ample to tell versions of one resource apart.
  return `W/"${base64url(digest.slice(0, 16))}"`
}

/**
 * Route middleware for anonymous-safe GETs (the same body for every caller): on a 200 without a
 * cookie or its own `Cache-Control`, set `Cache-Control: public, max-age=<CLIENT_CACHE_MAX_AGE>`
 * and a weak `ETag` (a hash of the body), and answer a matching `If-None-Match` with an empty 304.
 * Errors and responses that set cookies are never marked public. `maxAgeSeconds` overrides the
 * configured default for one route.
 *
 * @example
 * createRoute({ method: 'get', path: '/api/v1/tiers', middleware: [publicCache()] as const, … })
 */
export function publicCache(opts: { maxAgeSeconds?: number } = {}) {
  return createMiddleware<AppEnv>(async (c: Context<AppEnv>, next) => {
    await next()
    const method = c.req.method
    if ((method !== 'GET' && method !== 'HEAD') || c.res.status !== 200) return
    if (c.res.headers.has('Set-Cookie') || c.res.headers.has('Cache-Control')) return
    const maxAge = opts.maxAgeSeconds ?? c.get('services').config.http.clientCacheMaxAge
    const etag = c.res.headers.get('ETag') ?? (await weakEtag(c.res))
    c.res.headers.set('Cache-Control', `public, max-age=${maxAge}`)
    c.res.headers.set('ETag', etag)
    // The body does not depend on who asks, but it may on the Origin (CORS headers).
    c.res.headers.append('Vary', 'Origin')
    const ifNoneMatch = c.req.header('If-None-Match')
    if (ifNoneMatch && matches(ifNoneMatch, etag)) {
      const headers = new Headers()
      for (const name of kept304) {
        const value = c.res.headers.get(name)
        if (value !== null) headers.set(name, value)
      }
      await c.res.body?.cancel()
      // Assigning c.res would merge the 200's headers back in (content-type, length); a
      // fresh Response built here keeps the 304 to the headers the RFC asks for.
      c.res = undefined
      c.res = new Response(null, { status: 304, headers })
    }
  })
}
