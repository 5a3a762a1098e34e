import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { parseRange } from '../../../src/routes/media/media.handlers'
import type { Photo } from '../../../src/services/media/photo-view'
import { uniqueIp } from '../auth-helpers'
import { account } from '../fixtures'
import { api, problem } from '../helpers'
import { decodeJpeg, jpeg } from '../images'

const hexId = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('')

function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
  return api(path, { method, headers: { 'CF-Connecting-IP': uniqueIp(), ...headers } })
}

/** An audio object as the voice-bio service stores it. */
async function audioObject(size = 1000) {
  const key = `${hexId()}.m4a`
  const bytes = Uint8Array.from({ length: size }, (_, i) => i % 251)
  await env.AUDIO_BUCKET.put(key, bytes, { httpMetadata: { contentType: 'audio/mp4' } })
  return { key, bytes, path: `/media/audio/${key}` }
}

describe('GET /media/images/{key}', () => {
  it('serves an uploaded photo variant publicly, cacheable forever, embeddable cross-origin', async () => {
    const me = await account()
    const uploaded = await api('/api/v1/me/photos/1', {
      method: 'PUT',
      headers: { Authorization: `Bearer ${me.token}`, 'CF-Connecting-IP': uniqueIp() },
      body: jpeg(320, 240),
    })
    expect(uploaded.status).toBe(201)
    const photo = (await uploaded.json()) as Photo
    const url = new URL(photo.urls['450'])
    expect(url.pathname).toBe(`/media/images/450-${photo.id}.jpg`)

    const res = await get(url.pathname) // no token: media is public
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/jpeg')
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin')
    expect(res.headers.get('accept-ranges')).toBe('bytes')
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]+"$/)
    // Not counted by the rate limiter: no RateLimit-* headers.
    expect(res.headers.get('ratelimit-limit')).toBeNull()
    const image = decodeJpeg(new Uint8Array(await res.arrayBuffer()))
    expect([image.width, image.height]).toEqual([450, 450])
  })

  it('stays public even when the request carries credentials', async () => {
    const key = `900-${hexId()}.jpg`
    await env.IMAGES_BUCKET.put(key, jpeg(10, 10), { httpMetadata: { contentType: 'image/jpeg' } })
    const res = await get(`/media/images/${key}`, { Authorization: 'Bearer whatever' })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
  })

  it('answers a matching If-None-Match with an empty 304', async () => {
    const key = `original-${hexId()}.jpg`
    await env.IMAGES_BUCKET.put(key, jpeg(20, 20), { httpMetadata: { contentType: 'image/jpeg' } })
    const first = await get(`/media/images/${key}`)
    const etag = first.headers.get('etag')!
    await first.arrayBuffer()
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await get(`/media/images/${key}`, { 'If-None-Match': ifNoneMatch })
      expect(res.status, ifNoneMatch).toBe(304)
      expect(res.headers.get('etag')).toBe(etag)
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
      expect(await res.text()).toBe('')
    }
    const changed = await get(`/media/images/${key}`, { 'If-None-Match': '"something-else"' })
    expect(changed.status).toBe(200)
    await changed.arrayBuffer()
  })

  it('answers 404 for unknown keys and for keys that cannot exist', async () => {
    for (const key of [
      `450-${hexId()}.jpg`, // well-formed, not stored
      `${hexId()}.jpg`, // no variant prefix
      `450-${hexId()}.png`,
      `450-${hexId().toUpperCase()}.jpg`,
      '..%2F..%2Fsecrets',
      'index.html',
    ]) {
      const res = await get(`/media/images/${key}`)
      expect(res.status, key).toBe(404)
      expect((await problem(res)).code).toBe('not_found')
    }
    // Audio keys are not images, and the other way round.
    const audio = await audioObject()
    expect((await get(`/media/images/${audio.key}`)).status).toBe(404)
    expect((await get(`/media/nope/${audio.key}`)).status).toBe(404)
  })

  it('answers HEAD with the headers and no body', async () => {
    const key = `450-${hexId()}.jpg`
    const bytes = jpeg(30, 30)
    await env.IMAGES_BUCKET.put(key, bytes, { httpMetadata: { contentType: 'image/jpeg' } })
    const res = await get(`/media/images/${key}`, {}, 'HEAD')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/jpeg')
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(await res.text()).toBe('')
    expect((await get(`/media/images/450-${hexId()}.jpg`, {}, 'HEAD')).status).toBe(404)
  })
})

describe('GET /media/audio/{key}', () => {
  it('serves the whole recording with its stored content type', async () => {
    const { path, bytes } = await audioObject()
    const res = await get(path)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('audio/mp4')
    expect(res.headers.get('content-length')).toBe(String(bytes.length))
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes)
  })

  it('serves byte ranges with 206 and Content-Range (what audio players ask for)', async () => {
    const { path, bytes } = await audioObject(1000)
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 99],
      ['bytes=900-', 900, 999],
      ['bytes=-10', 990, 999],
      ['bytes=990-5000', 990, 999], // the end is clamped
    ]
    for (const [range, first, last] of cases) {
      const res = await get(path, { Range: range })
      expect(res.status, range).toBe(206)
      expect(res.headers.get('content-range')).toBe(`bytes ${first}-${last}/1000`)
      expect(res.headers.get('content-length')).toBe(String(last - first + 1))
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes.slice(first, last + 1))
    }
    const head = await get(path, { Range: 'bytes=10-19' }, 'HEAD')
    expect(head.status).toBe(206)
    expect(head.headers.get('content-range')).toBe('bytes 10-19/1000')
  })

  it('answers 416 for a range beyond the end, and ignores ranges it must not honour', async () => {
    const { path, bytes } = await audioObject(1000)
    for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=-0']) {
      const res = await get(path, { Range: range })
      expect(res.status, range).toBe(416)
      expect(res.headers.get('content-range')).toBe('bytes */1000')
      expect((await problem(res)).code).toBe('range_not_satisfiable')
    }
    // Several ranges, malformed ranges, and an If-Range naming another version: the whole object.
    const etag = (await get(path, {}, 'HEAD')).headers.get('etag')!
    for (const headers of [
      { Range: 'bytes=0-1,5-6' } as Record<string, string>,
      { Range: 'bytes=9-3' },
      { Range: 'items=0-3' },
      { Range: 'bytes=0-3', 'If-Range': '"another-version"' },
    ]) {
      const res = await get(path, headers)
      expect(res.status, JSON.stringify(headers)).toBe(200)
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes)
    }
    const matching = await get(path, { Range: 'bytes=0-3', 'If-Range': etag })
    expect(matching.status).toBe(206)
    await matching.arrayBuffer()
  })

  it('answers 404 for unknown or malformed audio keys', async () => {
    for (const key of [`${hexId()}.m4a`, `${hexId()}.wav`, `450-${hexId()}.jpg`]) {
      expect((await get(`/media/audio/${key}`)).status, key).toBe(404)
    }
  })
})

describe('parseRange', () => {
  it('follows RFC 9110 for single ranges', () => {
    expect(parseRange('bytes=0-0', 10)).toEqual({ offset: 0, length: 1 })
    expect(parseRange('bytes=5-', 10)).toEqual({ offset: 5, length: 5 })
    expect(parseRange('bytes=-20', 10)).toEqual({ offset: 0, length: 10 })
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable')
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable')
    expect(parseRange('bytes=-', 10)).toBeUndefined()
    expect(parseRange('bytes=3-1', 10)).toBeUndefined()
  })
})
