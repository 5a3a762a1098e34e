import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import worker from '../../../src/index'
import { api, envWith, origin } from '../helpers'
import { bearer, signIn } from '../auth-helpers'

describe('private by default', () => {
  it('marks authenticated responses private, no-store', async () => {
    const t = await signIn()
    const me = await api('/api/v1/me', { headers: bearer(t.accessToken) })
    expect(me.status).toBe(200)
    expect(me.headers.get('cache-control')).toBe('private, no-store')
  })

  it('also marks errors and unknown routes of credentialed requests', async () => {
    const bad = await api('/api/v1/me', { headers: bearer('not-a-token') })
    expect(bad.status).toBe(401)
    expect(bad.headers.get('cache-control')).toBe('private, no-store')
    const missing = await api('/api/v1/no-such-route', { headers: bearer('whatever') })
    expect(missing.status).toBe(404)
    expect(missing.headers.get('cache-control')).toBe('private, no-store')
  })

  it('leaves anonymous responses without a policy alone (never public by default)', async () => {
    const missing = await api('/api/v1/no-such-route')
    expect(missing.status).toBe(404)
    expect(missing.headers.get('cache-control')).toBeNull()
  })

  it('does not override a policy a handler chose', async () => {
    // /health/ready sets its own `no-store`; a credentialed request must not turn it into the default.
    const t = await signIn()
    const ready = await api('/health/ready', { headers: bearer(t.accessToken) })
    expect(ready.status).toBe(200)
    expect(ready.headers.get('cache-control')).toBe('no-store')
  })
})

describe('publicCache on GET /health', () => {
  it('is public for CLIENT_CACHE_MAX_AGE seconds with a weak ETag', async () => {
    const res = await api('/health')
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=30')
    expect(res.headers.get('etag')).toMatch(/^W\/"[\w-]{22}"$/)
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('follows the configured max-age', async () => {
    const ctx = createExecutionContext()
    const res = await worker.fetch(
      new Request(`${origin}/health`),
      envWith({ CLIENT_CACHE_MAX_AGE: '120' }),
      ctx,
    )
    await waitOnExecutionContext(ctx)
    expect(res.headers.get('cache-control')).toBe('public, max-age=120')
  })

  it('answers a matching If-None-Match with an empty 304 that repeats the validators', async () => {
    const first = await api('/health')
    const etag = first.headers.get('etag')!
    for (const ifNoneMatch of [etag, etag.replace(/^W\//, ''), `"other", ${etag}`, '*']) {
      const again = await api('/health', { headers: { 'If-None-Match': ifNoneMatch } })
      expect(again.status).toBe(304)
      expect(await again.text()).toBe('')
      expect(again.headers.get('etag')).toBe(etag)
      expect(again.headers.get('cache-control')).toBe('public, max-age=30')
      expect(again.headers.get('x-request-id')).toBeTruthy()
      expect(again.headers.get('content-type')).toBeNull()
    }
  })

  it('answers 200 with the body when the ETag does not match', async () => {
    const res = await api('/health', { headers: { 'If-None-Match': 'W/"stale"' } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('stays public when the caller happens to send credentials: the body is the same for all', async () => {
    const res = await api('/health', { headers: bearer('anything') })
    expect(res.headers.get('cache-control')).toBe('public, max-age=30')
  })

  it('does not apply to readiness, which must reflect the current state', async () => {
    const res = await api('/health/ready')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('etag')).toBeNull()
  })
})
