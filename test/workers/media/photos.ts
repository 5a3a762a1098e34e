import { env } from 'cloudflare:test'
import { decode as decodeBlurhash, encode as referenceBlurhash, isBlurhashValid } from 'blurhash'
import { and, eq, inArray } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../src/config'
import { bannedPhotoHashes, photos, storageDeletions, users } from '../../../src/db/schema'
import {
  ImageHeaderError,
  orientedSize,
  readImageHeader,
  withoutOrientation,
} from '../../../src/lib/codecs/image-header'
import { encodeBlurhash } from '../../../src/lib/codecs/blurhash'
import { withoutJpegMetadata } from '../../../src/lib/codecs/jpeg-dc'
import { decodePng } from '../../../src/lib/codecs/png-pixels'
import { MAX_UPLOAD_BYTES } from '../../../src/lib/http/upload'
import { squareCrop } from '../../../src/services/media/image-variants'
import { type Photo, photoView } from '../../../src/services/media/photo-view'
import { storeSelfie } from '../../../src/services/media/selfies'
import { uniqueIp } from '../auth-helpers'
import { account, call } from '../fixtures'
import { api, envWith, problem, services } from '../helpers'
import { decodeJpeg, gif, jpeg, jpegDeclaring, pixel, png, sha256Hex, webp, webpDeclaring } from '../images'

const s = services()

/** PUT a file as a client would: raw body, any Content-Type (it is not trusted). */
function upload(
  token: string | undefined,
  position: number | string,
  bytes: Uint8Array,
  opts: { query?: string; contentType?: string } = {},
) {
  return api(`/api/v1/me/photos/${position}${opts.query ?? ''}`, {
    method: 'PUT',
    headers: {
      'CF-Connecting-IP': uniqueIp(),
      'content-type': opts.contentType ?? 'application/octet-stream',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: bytes,
  })
}

async function stored(
  key: string,
): Promise<{ bytes: Uint8Array; contentType?: string; cacheControl?: string }> {
  const object = await env.IMAGES_BUCKET.get(key)
  if (!object) throw new Error(`${key} is not in the images bucket`)
  return {
    bytes: new Uint8Array(await object.arrayBuffer()),
    contentType: object.httpMetadata?.contentType,
    cacheControl: object.httpMetadata?.cacheControl,
  }
}

async function decodedSize(key: string) {
  const { bytes, contentType } = await stored(key)
  expect(contentType).toBe('image/jpeg')
  const image = decodeJpeg(bytes)
  return { width: image.width, height: image.height }
}

const queued = async (keys: string[]) =>
  (
    await s.database.db
      .select({ key: storageDeletions.objectKey })
      .from(storageDeletions)
      .where(and(eq(storageDeletions.bucket, 'images'), inArray(storageDeletions.objectKey, keys)))
  ).map((r) => r.key)

const keysOf = (id: string) => [`original-${id}.jpg`, `900-${id}.jpg`, `450-${id}.jpg`]

/** Which channel dominates a pixel: the test images are red, blue and green blocks. */
function dominant([r, g, b]: [number, number, number]): 'red' | 'green' | 'blue' | 'dark' {
  const max = Math.max(r, g, b)
  if (max < 100) return 'dark'
  return max === r ? 'red' : max === g ? 'green' : 'blue'
}

async function expectBodyProblem(res: Response, status: number, code: string, message?: RegExp) {
  expect(res.status).toBe(status)
  const body = await problem(res)
  expect(body.code).toBe(code)
  expect(body.errors?.[0]?.path).toBe('body')
  if (message) expect(body.detail).toMatch(message)
  return body
}

describe('image header (no decoding)', () => {
  it('reads format, stored size and EXIF orientation of each accepted format', async () => {
    expect(readImageHeader(jpeg(64, 48))).toMatchObject({
      format: 'jpeg',
      width: 64,
      height: 48,
      orientation: 1,
    })
    expect(readImageHeader(jpeg(64, 48, { orientation: 6 }))).toMatchObject({
      format: 'jpeg',
      width: 64,
      height: 48,
      orientation: 6,
    })
    expect(readImageHeader(await png(64, 48, { orientation: 8 }))).toMatchObject({
      format: 'png',
      orientation: 8,
    })
    expect(readImageHeader(gif(64, 48, { frames: 3 }))).toMatchObject({ format: 'gif', frames: 3 })
    expect(readImageHeader(webp())).toMatchObject({ format: 'webp', width: 160, height: 120 })
    expect(orientedSize({ width: 64, height: 48, orientation: 6 })).toEqual({ width: 48, height: 64 })
  })

  it('rewrites the orientation tag to 1 and nothing else (PNG: with a valid CRC)', async () => {
    const original = jpeg(64, 48, { orientation: 6 })
    const header = readImageHeader(original)
    const neutral = withoutOrientation(original, header)
    expect(readImageHeader(neutral)).toMatchObject({ width: 64, height: 48, orientation: 1 })
    const changed = [...neutral].flatMap((b, i) => (b === original[i] ? [] : [i]))
    expect(changed).toEqual([header.orientationTag!.offset + 1])
    expect(readImageHeader(original).orientation).toBe(6) // the input is not modified

    const pngBytes = await png(64, 48, { orientation: 3 })
    const pngHeader = readImageHeader(pngBytes)
    const fixed = withoutOrientation(pngBytes, pngHeader)
    expect(readImageHeader(fixed).orientation).toBe(1)
    const { start, end } = pngHeader.orientationTag!.pngChunk!
    const crc = new DataView(fixed.buffer).getUint32(end)
    // Recompute independently: CRC-32 of chunk type + data.
    let c = 0xffffffff
    for (const byte of fixed.subarray(start + 4, end)) {
      c ^= byte
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    }
    expect(crc).toBe((c ^ 0xffffffff) >>> 0)
    expect(withoutOrientation(jpeg(10, 10), readImageHeader(jpeg(10, 10))).length).toBe(jpeg(10, 10).length)
  })

  it('refuses truncated files of every format', async () => {
    const cases = [jpeg(200, 150), await png(200, 150), gif(200, 150), webp()]
    for (const bytes of cases) {
      for (const cut of [0.5, 0.9]) {
        const truncated = bytes.slice(0, Math.floor(bytes.length * cut))
        expect(() => readImageHeader(truncated), `cut at ${cut}`).toThrow(ImageHeaderError)
        try {
          readImageHeader(truncated)
        } catch (err) {
          expect((err as ImageHeaderError).problem).toBe('truncated')
        }
      }
    }
    // Bytes after the end-of-image marker (as phone vendors append) are fine.
    const trailer = new Uint8Array([...jpeg(60, 60), ...new TextEncoder().encode('SEFT trailer')])
    expect(readImageHeader(trailer).format).toBe('jpeg')
  })

  it('refuses a GIF frame outside the screen and recognises HEIC', () => {
    expect(() =>
      readImageHeader(gif(100, 100, { frame: { left: 50, top: 0, width: 100, height: 100 } })),
    ).toThrow(/outside/)
    const heic = new Uint8Array(32)
    heic.set(new TextEncoder().encode('\0\0\0\x18ftypheic'))
    expect(() => readImageHeader(heic)).toThrow(expect.objectContaining({ problem: 'heif' }))
  })

  it('clamps the square crop into the image and centres missing offsets', () => {
    expect(squareCrop({ width: 4000, height: 3000 })).toEqual({ left: 500, top: 0, side: 3000 })
    expect(squareCrop({ width: 4000, height: 3000 }, { left: 9999, top: 50 })).toEqual({
      left: 1000,
      top: 0,
      side: 3000,
    })
    expect(squareCrop({ width: 300, height: 400 }, { top: 20 })).toEqual({ left: 0, top: 20, side: 300 })
  })

  it('encodes blurhashes exactly as the blurhash package does', () => {
    for (let t = 0; t < 40; t++) {
      const [width, height] = [1 + ((t * 5) % 33), 1 + ((t * 11) % 32)]
      const pixels = new Uint8ClampedArray(crypto.getRandomValues(new Uint8Array(width * height * 4)))
      const [cx, cy] = [1 + (t % 9), 1 + ((t * 4) % 9)]
      expect(encodeBlurhash(pixels, width, height, cx, cy)).toBe(
        referenceBlurhash(pixels, width, height, cx, cy),
      )
    }
    expect(() => encodeBlurhash(new Uint8Array(16), 2, 2, 0, 4)).toThrow(RangeError)
    expect(() => encodeBlurhash(new Uint8Array(15), 2, 2, 4, 4)).toThrow(RangeError)
  })

  it('decodes a PNG to RGBA', async () => {
    const pixels = await decodePng(await png(20, 10))
    expect(pixels.width).toBe(20)
    expect(pixels.height).toBe(10)
    expect(
      dominant([
        pixels.data[(5 * 20 + 2) * 4]!,
        pixels.data[(5 * 20 + 2) * 4 + 1]!,
        pixels.data[(5 * 20 + 2) * 4 + 2]!,
      ]),
    ).toBe('red')
  })
})

describe('PUT /api/v1/me/photos/{position}: accepted formats', () => {
  it('stores a JPEG as original, 900 and 450 variants with a blurhash (201)', async () => {
    const me = await account()
    const bytes = jpeg(640, 480)
    const res = await upload(me.token, 1, bytes, { contentType: 'image/jpeg' })
    expect(res.status).toBe(201)
    const photo = (await res.json()) as Photo
    expect(photo.id).toMatch(/^[0-9a-f]{64}$/)
    expect(photo).toMatchObject({ position: 1, width: 640, height: 480, isGif: false, verified: false })
    expect(photo.urls).toEqual({
      original: `https://rapport.test/media/images/original-${photo.id}.jpg`,
      '900': `https://rapport.test/media/images/900-${photo.id}.jpg`,
      '450': `https://rapport.test/media/images/450-${photo.id}.jpg`,
    })

    expect(await decodedSize(`original-${photo.id}.jpg`)).toEqual({ width: 640, height: 480 })
    expect(await decodedSize(`900-${photo.id}.jpg`)).toEqual({ width: 900, height: 900 })
    expect(await decodedSize(`450-${photo.id}.jpg`)).toEqual({ width: 450, height: 450 })
    expect((await stored(`450-${photo.id}.jpg`)).cacheControl).toBe('public, max-age=31536000, immutable')
    expect(await env.IMAGES_BUCKET.head(`${photo.id}.gif`)).toBeNull()
    // The 900 variant really is this picture: red on the left, blue on the right.
    const square = decodeJpeg((await stored(`900-${photo.id}.jpg`)).bytes)
    expect(dominant(pixel(square, 100, 450))).toBe('red')
    expect(dominant(pixel(square, 800, 450))).toBe('blue')

    expect(isBlurhashValid(photo.blurhash).result).toBe(true)
    const blur = decodeBlurhash(photo.blurhash, 32, 32)
    const at = (x: number, y: number) =>
      [blur[(y * 32 + x) * 4]!, blur[(y * 32 + x) * 4 + 1]!, blur[(y * 32 + x) * 4 + 2]!] as [
        number,
        number,
        number,
      ]
    expect(dominant(at(4, 16))).toBe('red')
    expect(dominant(at(28, 16))).toBe('blue')

    const [row] = await s.database.db.select().from(photos).where(eq(photos.id, photo.id))
    expect(row).toMatchObject({
      userId: me.id,
      position: 1,
      contentHash: await sha256Hex(bytes),
      blurhash: photo.blurhash,
    })
  })

  it('keeps an upright JPEG as its own original, minus its metadata (no render)', async () => {
    const me = await account()
    // Orientation 1 ("as stored") in an EXIF segment, where phones also put the GPS position.
    const bytes = jpeg(320, 240, { orientation: 1 })
    expect(new TextDecoder('latin1').decode(bytes)).toContain('Exif')
    const res = await upload(me.token, 1, bytes, { contentType: 'image/jpeg' })
    expect(res.status).toBe(201)
    const photo = (await res.json()) as Photo
    const original = (await stored(`original-${photo.id}.jpg`)).bytes
    expect(original).toEqual(withoutJpegMetadata(bytes))
    expect(new TextDecoder('latin1').decode(original)).not.toContain('Exif')
    expect(await decodedSize(`450-${photo.id}.jpg`)).toEqual({ width: 450, height: 450 })
  })

  it('applies the EXIF orientation: a 400×300 JPEG tagged "rotate 90°" is stored 300×400, turned', async () => {
    const me = await account()
    const res = await upload(me.token, 2, jpeg(400, 300, { orientation: 6 }))
    expect(res.status).toBe(201)
    const photo = (await res.json()) as Photo
    expect(photo).toMatchObject({ width: 300, height: 400 })
    const original = decodeJpeg((await stored(`original-${photo.id}.jpg`)).bytes)
    expect({ width: original.width, height: original.height }).toEqual({ width: 300, height: 400 })
    // Stored: red left half, blue right half, green top band. Turned 90° clockwise: red on top,
    // blue below, the green band down the right edge.
    expect(dominant(pixel(original, 120, 80))).toBe('red')
    expect(dominant(pixel(original, 120, 320))).toBe('blue')
    expect(dominant(pixel(original, 295, 200))).toBe('green')
    expect(await decodedSize(`450-${photo.id}.jpg`)).toEqual({ width: 450, height: 450 })
  })

  it('accepts a PNG sent as image/jpeg (the Content-Type is not trusted)', async () => {
    const me = await account()
    const res = await upload(me.token, 3, await png(300, 200), { contentType: 'image/jpeg' })
    expect(res.status).toBe(201)
    const photo = (await res.json()) as Photo
    expect(photo).toMatchObject({ width: 300, height: 200, isGif: false })
    expect(await decodedSize(`original-${photo.id}.jpg`)).toEqual({ width: 300, height: 200 })
    expect(await decodedSize(`900-${photo.id}.jpg`)).toEqual({ width: 900, height: 900 })
  })

  it('accepts a WebP', async () => {
    const me = await account()
    const res = await upload(me.token, 4, webp(), { contentType: 'text/plain' })
    expect(res.status).toBe(201)
    const photo = (await res.json()) as Photo
    expect(photo).toMatchObject({ width: 160, height: 120 })
    expect(await decodedSize(`450-${photo.id}.jpg`)).toEqual({ width: 450, height: 450 })
  })

  it('accepts a GIF, keeping the animation as <id>.gif next to the JPEG variants', async () => {
    const me = await account()
    const bytes = gif(240, 180, { frames: 3 })
    const res = await upload(me.token, 5, bytes, { contentType: 'image/gif' })
    expect(res.status).toBe(201)
    const photo = (await res.json()) as Photo
    expect(photo).toMatchObject({ width: 240, height: 180, isGif: true })
    expect(photo.urls.gif).toBe(`https://rapport.test/media/images/${photo.id}.gif`)
    const raw = await stored(`${photo.id}.gif`)
    expect(raw.contentType).toBe('image/gif')
    expect(raw.bytes).toEqual(bytes)
    expect(await decodedSize(`original-${photo.id}.jpg`)).toEqual({ width: 240, height: 180 })
    expect(await decodedSize(`900-${photo.id}.jpg`)).toEqual({ width: 900, height: 900 })
    expect(await decodedSize(`450-${photo.id}.jpg`)).toEqual({ width: 450, height: 450 })
  })

  it('lets an account that is still onboarding upload (photos are an onboarding step)', async () => {
    const me = await account('member', { status: 'onboarding' })
    expect((await upload(me.token, 1, jpeg(120, 120))).status).toBe(201)
    expect((await call('GET', '/api/v1/me/photos', me.token)).status).toBe(200)
  })
})

describe('PUT /api/v1/me/photos/{position}: refused uploads', () => {
  it('refuses what is not a JPEG, PNG, WebP or GIF by its bytes, whatever the Content-Type (415)', async () => {
    const me = await account()
    const pdf = new TextEncoder().encode('%PDF-1.7\n1 0 obj << >> endobj\n%%EOF')
    await expectBodyProblem(
      await upload(me.token, 1, pdf, { contentType: 'image/jpeg' }),
      415,
      'unsupported_media_type',
    )
    const heic = new Uint8Array(4096)
    heic.set(new TextEncoder().encode('\0\0\0\x18ftypheic\0\0\0\0mif1heic'))
    await expectBodyProblem(
      await upload(me.token, 1, heic, { contentType: 'image/heic' }),
      415,
      'unsupported_media_type',
      /HEIC/,
    )
    expect(await s.database.db.select().from(photos).where(eq(photos.userId, me.id))).toEqual([])
  })

  it('refuses an empty body (422) and a body over 10 MB (413)', async () => {
    const me = await account()
    await expectBodyProblem(await upload(me.token, 1, new Uint8Array()), 422, 'validation_failed')
    const big = new Uint8Array(MAX_UPLOAD_BYTES + 1)
    big.set(jpeg(100, 100))
    const res = await upload(me.token, 1, big)
    expect(res.status).toBe(413)
    expect((await problem(res)).code).toBe('payload_too_large')
  })

  it('refuses declared sizes out of bounds before decoding (header-only files never reach the decoder)', async () => {
    const me = await account()
    const cases: [Uint8Array, RegExp][] = [
      [jpegDeclaring(5001, 3000), /at most 5000 px/],
      [jpegDeclaring(20000, 20000), /20000 × 20000/], // the bomb: a 40-byte file claiming 400 megapixels
      [await png(60, 40, { declare: { width: 20000, height: 20000 } }), /20000 × 20000/],
      [webpDeclaring(20000, 20000), /20000 × 20000/],
      [jpeg(49, 400), /at least 50 px/],
      [gif(801, 100), /GIFs may be at most 800 px/],
      [gif(100, 9), /GIFs must be at least 10 px/],
    ]
    for (const [bytes, message] of cases) {
      await expectBodyProblem(await upload(me.token, 1, bytes), 422, 'validation_failed', message)
    }
  })

  it('refuses truncated files and files that do not decode', async () => {
    const me = await account()
    const whole = jpeg(300, 300)
    await expectBodyProblem(
      await upload(me.token, 1, whole.slice(0, whole.length - 200)),
      422,
      'validation_failed',
      /truncated/,
    )
    const pngBytes = await png(100, 100)
    await expectBodyProblem(
      await upload(me.token, 1, pngBytes.slice(0, 60)),
      422,
      'validation_failed',
      /truncated/,
    )
    // Whole headers, no picture: the decoder (the Images binding) finds nothing to render.
    await expectBodyProblem(
      await upload(me.token, 1, jpegDeclaring(100, 100)),
      422,
      'validation_failed',
      /decoded/,
    )
    expect(await s.database.db.select().from(photos).where(eq(photos.userId, me.id))).toEqual([])
  })

  it('refuses a file a moderator banned (by SHA-256)', async () => {
    const me = await account()
    const bytes = jpeg(150, 150, { quality: 71 })
    await s.database.db.insert(bannedPhotoHashes).values({ hash: await sha256Hex(bytes) })
    await expectBodyProblem(await upload(me.token, 1, bytes), 422, 'validation_failed', /moderator/)
    // A different file is fine.
    expect((await upload(me.token, 1, jpeg(150, 150, { quality: 72 }))).status).toBe(201)
  })

  it('has no eighth photo: positions are 1 to 7', async () => {
    const me = await account()
    for (const position of [8, 0, -1, 'x']) {
      const res = await upload(me.token, position, jpeg(100, 100))
      expect(res.status, String(position)).toBe(422)
      expect((await problem(res)).errors?.[0]?.path).toBe('param.position')
    }
  })

  it('validates the crop offsets', async () => {
    const me = await account()
    for (const query of ['?top=-1', '?left=abc', '?top=1.5']) {
      const res = await upload(me.token, 1, jpeg(100, 100), { query })
      expect(res.status, query).toBe(422)
      expect((await problem(res)).errors?.[0]?.path).toMatch(/^query\.(top|left)$/)
    }
    // Out of range is clamped, not refused.
    expect((await upload(me.token, 1, jpeg(200, 100), { query: '?left=5000&top=5000' })).status).toBe(201)
  })

  it('requires a token (401) and a live account (403 when deactivated)', async () => {
    expect((await upload(undefined, 1, jpeg(100, 100))).status).toBe(401)
    expect((await call('GET', '/api/v1/me/photos')).status).toBe(401)
    expect((await call('DELETE', '/api/v1/me/photos/1')).status).toBe(401)
    expect(
      (await call('PATCH', '/api/v1/me/photos/order', undefined, { assignments: { 1: 2 } })).status,
    ).toBe(401)
    const gone = await account('member', { status: 'deactivated' })
    const res = await upload(gone.token, 1, jpeg(100, 100))
    expect(res.status).toBe(403)
    expect((await problem(res)).code).toBe('forbidden')
  })
})

describe('replace, delete, list', () => {
  it('replaces a photo with a new id, resets verified, queues the old objects (200)', async () => {
    const me = await account()
    const first = (await (await upload(me.token, 1, gif(120, 90))).json()) as Photo
    await s.database.db.update(photos).set({ verified: true }).where(eq(photos.id, first.id))
    const res = await upload(me.token, 1, jpeg(300, 200))
    expect(res.status).toBe(200)
    const second = (await res.json()) as Photo
    expect(second.id).not.toBe(first.id)
    expect(second).toMatchObject({ position: 1, verified: false, isGif: false, width: 300, height: 200 })
    const old = [...keysOf(first.id), `${first.id}.gif`]
    expect((await queued(old)).sort()).toEqual(old.sort())
    expect(await queued(keysOf(second.id))).toEqual([])
    const list = (await (await call('GET', '/api/v1/me/photos', me.token)).json()) as { data: Photo[] }
    expect(list.data.map((p) => p.id)).toEqual([second.id])
  })

  it('lists photos by position and deletes one (204, then 404)', async () => {
    const me = await account()
    const ids: Record<number, string> = {}
    for (const position of [3, 1, 6]) {
      ids[position] = ((await (await upload(me.token, position, jpeg(100, 100))).json()) as Photo).id
    }
    let list = (await (await call('GET', '/api/v1/me/photos', me.token)).json()) as { data: Photo[] }
    expect(list.data.map((p) => [p.position, p.id])).toEqual([
      [1, ids[1]],
      [3, ids[3]],
      [6, ids[6]],
    ])
    expect((await call('DELETE', '/api/v1/me/photos/3', me.token)).status).toBe(204)
    expect((await queued(keysOf(ids[3]!))).sort()).toEqual(keysOf(ids[3]!).sort())
    list = (await (await call('GET', '/api/v1/me/photos', me.token)).json()) as { data: Photo[] }
    expect(list.data.map((p) => p.position)).toEqual([1, 6])
    const again = await call('DELETE', '/api/v1/me/photos/3', me.token)
    expect(again.status).toBe(404)
    expect((await problem(again)).code).toBe('not_found')
  })

  it('queues the new objects when the row cannot be written after they were stored', async () => {
    const me = await account()
    // Warm the account cache, then delete the account: auth still passes from the cache (≤ 60 s),
    // the upload renders and stores, and the row's foreign key fails.
    expect((await call('GET', '/api/v1/me/photos', me.token)).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 200))
    const before = new Set((await env.IMAGES_BUCKET.list()).objects.map((o) => o.key))
    await s.database.db.delete(users).where(eq(users.id, me.id))
    const res = await upload(me.token, 1, jpeg(100, 100))
    expect(res.status).toBe(401)
    const added = (await env.IMAGES_BUCKET.list()).objects.map((o) => o.key).filter((k) => !before.has(k))
    expect(added).toHaveLength(3)
    expect((await queued(added)).sort()).toEqual(added.sort())
  })

  it('uses the public bucket hostname for URLs when one is configured', () => {
    const config = loadConfig(envWith({ IMAGES_PUBLIC_URL: 'https://images.rapport.example/' }))
    const row = {
      id: 'a'.repeat(64),
      userId: crypto.randomUUID(),
      position: 2,
      blurhash: 'L00000fQfQfQfQfQfQfQfQfQfQfQ',
      width: 10,
      height: 10,
      isGif: true,
      contentHash: 'b'.repeat(64),
      verified: false,
      createdAt: new Date(),
    }
    expect(photoView(row, config).urls).toEqual({
      original: `https://images.rapport.example/original-${row.id}.jpg`,
      '900': `https://images.rapport.example/900-${row.id}.jpg`,
      '450': `https://images.rapport.example/450-${row.id}.jpg`,
      gif: `https://images.rapport.example/${row.id}.gif`,
    })
  })
})

describe('PATCH /api/v1/me/photos/order', () => {
  async function withPhotos(positions: number[]) {
    const me = await account()
    const ids: Record<number, string> = {}
    for (const position of positions) {
      ids[position] = ((await (await upload(me.token, position, jpeg(60, 60))).json()) as Photo).id
    }
    return { me, ids }
  }
  const order = (token: string, assignments: unknown) =>
    call('PATCH', '/api/v1/me/photos/order', token, { assignments })
  const positionsOf = async (userId: string) =>
    Object.fromEntries(
      (await s.database.db.select().from(photos).where(eq(photos.userId, userId))).map((p) => [
        p.position,
        p.id,
      ]),
    )

  it('swaps, rotates and moves into empty positions in one go', async () => {
    const { me, ids } = await withPhotos([1, 2, 3, 5])
    const res = await order(me.token, { 1: 2, 2: 3, 3: 1, 5: 7 })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { data: Photo[] }
    expect(body.data.map((p) => [p.position, p.id])).toEqual([
      [1, ids[3]],
      [2, ids[1]],
      [3, ids[2]],
      [7, ids[5]],
    ])
    expect(await positionsOf(me.id)).toEqual({ 1: ids[3], 2: ids[1], 3: ids[2], 7: ids[5] })
    // Moving photos changes no ids, so nothing is queued for deletion.
    expect(await queued(Object.values(ids).flatMap(keysOf))).toEqual([])
  })

  it('refuses collisions, missing photos and malformed assignments (422 naming the field), changing nothing', async () => {
    const { me, ids } = await withPhotos([1, 2, 4])
    const cases: [unknown, string][] = [
      [{ 1: 3, 2: 3 }, 'json.assignments.2'], // two photos to one position
      [{ 1: 4 }, 'json.assignments.1'], // onto a photo that stays
      [{ 3: 5 }, 'json.assignments.3'], // no photo at 3
      [{ 8: 1 }, 'json.assignments.8'],
      [{ 1: 8 }, 'json.assignments.1'],
      [{ 1: 0 }, 'json.assignments.1'],
      [{}, 'json.assignments'],
    ]
    for (const [assignments, path] of cases) {
      const res = await order(me.token, assignments)
      expect(res.status, JSON.stringify(assignments)).toBe(422)
      const body = await problem(res)
      expect(body.code).toBe('validation_failed')
      expect(body.errors?.map((e) => e.path)).toContain(path)
    }
    expect(await positionsOf(me.id)).toEqual({ 1: ids[1], 2: ids[2], 4: ids[4] })
  })
})

describe('BOLA: another member cannot touch my photos', () => {
  it('their deletes, uploads and reorders only ever address their own positions', async () => {
    const me = await account()
    const other = await account()
    const mine = ((await (await upload(me.token, 1, jpeg(80, 80))).json()) as Photo).id

    expect((await call('DELETE', '/api/v1/me/photos/1', other.token)).status).toBe(404)
    const reorder = await call('PATCH', '/api/v1/me/photos/order', other.token, { assignments: { 1: 2 } })
    expect(reorder.status).toBe(422)
    const theirs = await upload(other.token, 1, jpeg(90, 90))
    expect(theirs.status).toBe(201) // their own position 1, not a replacement of mine
    const theirId = ((await theirs.json()) as Photo).id

    const [row] = await s.database.db.select().from(photos).where(eq(photos.id, mine))
    expect(row).toMatchObject({ userId: me.id, position: 1 })
    expect(await queued(keysOf(mine))).toEqual([])
    const theirList = (await (await call('GET', '/api/v1/me/photos', other.token)).json()) as {
      data: Photo[]
    }
    expect(theirList.data.map((p) => p.id)).toEqual([theirId])
    const myList = (await (await call('GET', '/api/v1/me/photos', me.token)).json()) as { data: Photo[] }
    expect(myList.data.map((p) => p.id)).toEqual([mine])
  })
})

describe('storeSelfie (for verification)', () => {
  it('stores only a 450×450 centre crop and returns the SHA-256 of the upload, writing no row', async () => {
    const me = await account()
    const bytes = jpeg(500, 300, { orientation: 8 })
    const { selfieId, hash } = await storeSelfie(s, me.id, bytes)
    expect(selfieId).toMatch(/^[0-9a-f]{64}$/)
    expect(hash).toBe(await sha256Hex(bytes))
    expect(await decodedSize(`450-${selfieId}.jpg`)).toEqual({ width: 450, height: 450 })
    for (const key of [`original-${selfieId}.jpg`, `900-${selfieId}.jpg`]) {
      expect(await env.IMAGES_BUCKET.head(key)).toBeNull()
    }
    expect(await s.database.db.select().from(photos).where(eq(photos.userId, me.id))).toEqual([])
  })

  it('refuses what a photo upload refuses', async () => {
    await expect(storeSelfie(s, crypto.randomUUID(), jpegDeclaring(20000, 20000))).rejects.toMatchObject({
      code: 'validation_failed',
    })
    await expect(storeSelfie(s, crypto.randomUUID(), new TextEncoder().encode('nope'))).rejects.toMatchObject(
      {
        code: 'unsupported_media_type',
      },
    )
  })
})
