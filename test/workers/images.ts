import jpegJs from 'jpeg-js'
import webpDataUrl from '../fixtures/images/photo-160x120.webp?inline'
import { concatBytes, crc32 } from '../../src/lib/codecs/bytes'

/**
 * Image files for the upload tests, built in the test itself so every case (sizes, EXIF
 * orientation, frames, damage) is one function call: JPEG through jpeg-js's encoder, PNG and GIF
 * by small encoders here. WebP has no small pure-JS encoder, so one 160 × 120 lossy file made
 * with sharp is committed (test/fixtures/images/photo-160x120.webp); WebP size tests craft
 * headers by hand, which is all the validator reads.
 */

/** RGBA pixels: red on the left half, blue on the right, green along the top tenth. */
export function quadrants(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 4)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4
      const top = y < height / 10
      data[o] = !top && x < width / 2 ? 230 : 10
      data[o + 1] = top ? 230 : 10
      data[o + 2] = !top && x >= width / 2 ? 230 : 10
      data[o + 3] = 255
    }
  }
  return data
}

/** A TIFF block (as in an EXIF segment) holding only the Orientation tag. */
function exifOrientation(orientation: number): Uint8Array {
  const tiff = new Uint8Array(6 + 8 + 2 + 12 + 4)
  tiff.set([0x45, 0x78, 0x69, 0x66, 0, 0]) // "Exif\0\0"
  const v = new DataView(tiff.buffer, 6)
  v.setUint16(0, 0x4d4d) // "MM": big-endian
  v.setUint16(2, 42)
  v.setUint32(4, 8) // IFD0 right after the header
  v.setUint16(8, 1) // one entry
  v.setUint16(10, 0x0112) // Orientation
  v.setUint16(12, 3) // SHORT
  v.setUint32(14, 1)
  v.setUint16(18, orientation)
  v.setUint32(22, 0) // no next IFD
  return tiff
}

/** A baseline JPEG of the {@link quadrants} pattern, optionally with an EXIF orientation tag. */
export function jpeg(
  width: number,
  height: number,
  opts: { orientation?: number; quality?: number } = {},
): Uint8Array {
  const image = { width, height, data: quadrants(width, height) } as Parameters<typeof jpegJs.encode>[0] & {
    exifBuffer?: Uint8Array
  }
  if (opts.orientation) image.exifBuffer = exifOrientation(opts.orientation)
  return new Uint8Array(jpegJs.encode(image, opts.quality ?? 80).data)
}

/** Decode a JPEG (e.g. a stored variant) to RGBA. */
export function decodeJpeg(bytes: Uint8Array) {
  return jpegJs.decode(bytes, { useTArray: true, formatAsRGBA: true })
}

/** The RGB of one pixel of decoded RGBA. */
export function pixel(
  image: { width: number; data: Uint8Array },
  x: number,
  y: number,
): [number, number, number] {
  const o = (y * image.width + x) * 4
  return [image.data[o]!, image.data[o + 1]!, image.data[o + 2]!]
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length)
  const v = new DataView(out.buffer)
  v.setUint32(0, data.length)
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i)
  out.set(data, 8)
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
  return out
}

async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

/**
 * An 8-bit RGB PNG of the {@link quadrants} pattern. `declare` writes other dimensions into the
 * header than the pixel data has (a decompression bomb's trick); `exifOrientation` adds an eXIf
 * chunk.
 */
export async function png(
  width: number,
  height: number,
  opts: { declare?: { width: number; height: number }; orientation?: number } = {},
): Promise<Uint8Array> {
  const rgba = quadrants(width, height)
  const raw = new Uint8Array(height * (width * 3 + 1))
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      raw.set(rgba.subarray((y * width + x) * 4, (y * width + x) * 4 + 3), y * (width * 3 + 1) + 1 + x * 3)
    }
  }
  const ihdr = new Uint8Array(13)
  const v = new DataView(ihdr.buffer)
  v.setUint32(0, opts.declare?.width ?? width)
  v.setUint32(4, opts.declare?.height ?? height)
  ihdr.set([8, 2, 0, 0, 0], 8) // 8-bit truecolour, deflate, adaptive filters, no interlace
  return concatBytes([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    ...(opts.orientation ? [pngChunk('eXIf', exifOrientation(opts.orientation).subarray(6))] : []),
    pngChunk('IDAT', await deflate(raw)),
    pngChunk('IEND', new Uint8Array()),
  ])
}

/**
 * A GIF89a with `frames` frames of the {@link quadrants} pattern (first frame) and flat colours
 * (later ones). LZW with 8-bit codes and a clear code every 100 pixels, so every code is one
 * byte and the table never grows: valid, uncompressed-sized, simple. `frame` overrides the
 * first frame's descriptor (position and size), for frames outside the screen.
 */
export function gif(
  width: number,
  height: number,
  opts: { frames?: number; frame?: { left: number; top: number; width: number; height: number } } = {},
): Uint8Array {
  const palette = new Uint8Array(128 * 3)
  palette.set([10, 10, 10, 230, 10, 10, 10, 10, 230, 10, 230, 10])
  const pattern = quadrants(width, height)
  const index = (p: number) => {
    const [r, g] = [pattern[p * 4]!, pattern[p * 4 + 1]!]
    return g > 128 ? 3 : r > 128 ? 1 : 2
  }
  const out: number[] = []
  const u16 = (n: number) => out.push(n & 0xff, n >> 8)
  out.push(...'GIF89a'.split('').map((c) => c.charCodeAt(0)))
  u16(width)
  u16(height)
  out.push(0xf6, 0, 0) // global colour table of 128 entries
  out.push(...palette)
  const frames = opts.frames ?? 1
  for (let f = 0; f < frames; f++) {
    out.push(0x21, 0xf9, 4, 0, 10, 0, 0, 0) // graphic control: 100 ms
    const d = f === 0 && opts.frame ? opts.frame : { left: 0, top: 0, width, height }
    out.push(0x2c)
    u16(d.left)
    u16(d.top)
    u16(d.width)
    u16(d.height)
    out.push(0)
    out.push(7) // LZW minimum code size 7: clear = 128, end = 129, codes 8 bits wide
    const codes: number[] = []
    for (let p = 0; p < d.width * d.height; p++) {
      if (p % 100 === 0) codes.push(128)
      codes.push(f === 0 ? index((p % d.width) + Math.floor(p / d.width) * width) : 1 + (f % 3))
    }
    codes.push(129)
    for (let i = 0; i < codes.length; i += 255) {
      const block = codes.slice(i, i + 255)
      out.push(block.length, ...block)
    }
    out.push(0)
  }
  out.push(0x3b)
  return new Uint8Array(out)
}

/** The committed 160 × 120 lossy WebP. */
export function webp(): Uint8Array {
  const base64 = webpDataUrl.slice(webpDataUrl.indexOf(',') + 1)
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
}

/** A WebP header (extended format) declaring a canvas of any size, with a tiny lossy image. */
export function webpDeclaring(width: number, height: number): Uint8Array {
  const vp8 = webp().subarray(12)
  const vp8x = new Uint8Array(18)
  vp8x.set([0x56, 0x50, 0x38, 0x58]) // "VP8X"
  const v = new DataView(vp8x.buffer)
  v.setUint32(4, 10, true)
  const w = width - 1
  const h = height - 1
  vp8x.set([w & 0xff, (w >> 8) & 0xff, w >> 16, h & 0xff, (h >> 8) & 0xff, h >> 16], 12)
  const body = concatBytes([new TextEncoder().encode('WEBP'), vp8x, vp8])
  const header = new Uint8Array(8)
  header.set([0x52, 0x49, 0x46, 0x46])
  new DataView(header.buffer).setUint32(4, body.length, true)
  return concatBytes([header, body])
}

/**
 * A JPEG that is only headers: a frame header declaring `width` × `height` and an empty scan.
 * What a decompression bomb looks like to anything that reads headers.
 */
export function jpegDeclaring(width: number, height: number): Uint8Array {
  return new Uint8Array([
    0xff,
    0xd8,
    // SOF0: length 11, precision 8, height, width, 1 component (id 1, sampling 1×1, table 0)
    0xff,
    0xc0,
    0,
    11,
    8,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    1,
    1,
    0x11,
    0,
    // SOS: length 8, 1 component, tables 0/0, spectral 0–63, approximation 0
    0xff,
    0xda,
    0,
    8,
    1,
    1,
    0,
    0,
    63,
    0,
    0x00,
    0x00,
    0x00,
    0x00,
    0xff,
    0xd9,
  ])
}

/** SHA-256 hex, as the service stores `content_hash`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
}
