import { crc32 } from './bytes'

/**
 * What an uploaded image *claims* to be — format, pixel dimensions, EXIF orientation — read from
 * its container structure without decoding a single pixel, so a file declaring 20,000 × 20,000
 * px is refused before anything allocates memory for it. One walk per format also proves the
 * container is complete (a truncated upload is refused here rather than half-decoded later) and
 * finds where the orientation tag lives, so it can be neutralised (see {@link withoutOrientation}).
 *
 * Why not the `image-size` package: it reads only the first header (not GIF frames, whose
 * descriptors can each declare a larger canvas than the screen), cannot tell a truncated file
 * from a whole one, knows JPEG orientation but not where it is stored, and copies the whole
 * input while scanning JPEG markers. The structural walks below cost the same lines of code as
 * using it plus the checks it lacks.
 */

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp'

/** Where the EXIF orientation value sits, so it can be rewritten in place. */
export interface OrientationTag {
  /** Byte offset of the 16-bit value in the file. */
  offset: number
  littleEndian: boolean
  /**
   * PNG only: the `eXIf` chunk holding it (`start`: its length field; `end`: its CRC), whose CRC
   * must be recomputed after a rewrite.
   */
  pngChunk?: { start: number; end: number }
}

export interface ImageHeader {
  format: ImageFormat
  /** Stored width in pixels, before EXIF orientation. */
  width: number
  /** Stored height in pixels, before EXIF orientation. */
  height: number
  /** EXIF orientation 1–8 (1 = as stored; also when there is no tag or it is unreadable). */
  orientation: number
  orientationTag?: OrientationTag
  /** Frames in an animation (GIF, animated WebP); 1 for still images. */
  frames: number
  /** GIF only: the sum of every frame's area in pixels (what a player decodes in total). */
  framePixels: number
}

export type ImageHeaderProblem = 'unsupported' | 'heif' | 'corrupt' | 'truncated'

/** The bytes are not an image this parser accepts, or not a whole one. */
export class ImageHeaderError extends Error {
  constructor(
    readonly problem: ImageHeaderProblem,
    message: string,
  ) {
    super(message)
    this.name = 'ImageHeaderError'
  }
}

const corrupt = (format: string, what: string) =>
  new ImageHeaderError('corrupt', `Invalid ${format}: ${what}`)
const truncated = (format: string) =>
  new ImageHeaderError('truncated', `The ${format} file is truncated (upload incomplete?)`)

const u16be = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!
const u16le = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8)
const u24le = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)
const u32be = (b: Uint8Array, o: number) =>
  ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!)
const u32le = (b: Uint8Array, o: number) =>
  ((b[o + 3]! << 24) >>> 0) + ((b[o + 2]! << 16) | (b[o + 1]! << 8) | b[o]!)
const ascii = (b: Uint8Array, o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n))

/**
 * Sniff the format from the magic bytes and read the declared header, proving the container is
 * complete. Throws {@link ImageHeaderError}: `unsupported` (not JPEG/PNG/GIF/WebP), `heif`
 * (HEIC/HEIF/AVIF, recognised but not accepted), `corrupt` or `truncated`.
 *
 * @example
 * const header = readImageHeader(bytes) // { format: 'jpeg', width: 4000, height: 3000, orientation: 6, … }
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return readJpeg(bytes)
  if (bytes.length >= 8 && u32be(bytes, 0) === 0x89504e47 && u32be(bytes, 4) === 0x0d0a1a0a)
    return readPng(bytes)
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(ascii(bytes, 0, 6))) return readGif(bytes)
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP')
    return readWebp(bytes)
  if (bytes.length >= 12 && ascii(bytes, 4, 4) === 'ftyp') {
    throw new ImageHeaderError(
      'heif',
      'HEIC/HEIF/AVIF images are not accepted; send a JPEG, PNG, WebP or GIF',
    )
  }
  throw new ImageHeaderError('unsupported', 'Not a JPEG, PNG, WebP or GIF image')
}

/** The dimensions after applying the EXIF orientation (5–8 swap width and height). */
export function orientedSize(header: Pick<ImageHeader, 'width' | 'height' | 'orientation'>) {
  return header.orientation >= 5
    ? { width: header.height, height: header.width }
    : { width: header.width, height: header.height }
}

/**
 * A copy of `bytes` whose EXIF orientation says "as stored" (1), or `bytes` itself when there is
 * nothing to rewrite. Image services disagree on whether they apply the tag (Cloudflare Images
 * does; its local stand-in does not): with the tag neutralised and the rotation applied
 * explicitly, both produce the same pixels.
 *
 * @example
 * env.IMAGES.input(streamOf(withoutOrientation(bytes, header))).transform(orientationTransform(header.orientation))
 */
export function withoutOrientation(bytes: Uint8Array, header: ImageHeader): Uint8Array {
  const tag = header.orientationTag
  if (!tag || header.orientation === 1) return bytes
  const copy = bytes.slice()
  new DataView(copy.buffer, copy.byteOffset).setUint16(tag.offset, 1, tag.littleEndian)
  if (tag.pngChunk) {
    // CRC-32 over the chunk type and data; the stored value follows the data.
    const { start, end } = tag.pngChunk
    new DataView(copy.buffer, copy.byteOffset).setUint32(end, crc32(copy.subarray(start + 4, end)), false)
  }
  return copy
}

/**
 * The orientation tag of a TIFF structure (EXIF payload) starting at `start` and at most `length`
 * bytes long. Anything malformed reads as "no tag": the pixels do not depend on it.
 */
function tiffOrientation(
  b: Uint8Array,
  start: number,
  length: number,
): { value: number; tag: OrientationTag } | undefined {
  const end = Math.min(b.length, start + length)
  if (end - start < 8) return undefined
  const order = ascii(b, start, 2)
  if (order !== 'II' && order !== 'MM') return undefined
  const le = order === 'II'
  const r16 = (o: number) => (le ? u16le(b, o) : u16be(b, o))
  const r32 = (o: number) => (le ? u32le(b, o) : u32be(b, o))
  if (r16(start + 2) !== 42) return undefined
  const ifd = start + r32(start + 4)
  if (ifd + 2 > end) return undefined
  const count = r16(ifd)
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12
    if (entry + 12 > end) return undefined
    // Tag 0x0112 Orientation, type SHORT (3), one value stored inline.
    if (r16(entry) === 0x0112) {
      if (r16(entry + 2) !== 3 || r32(entry + 4) !== 1) return undefined
      const value = r16(entry + 8)
      return value >= 1 && value <= 8 ? { value, tag: { offset: entry + 8, littleEndian: le } } : undefined
    }
  }
  return undefined
}

/**
 * JPEG: walk the marker segments up to the first scan. Dimensions come from the frame header
 * (SOF0–2: baseline, extended, progressive; the lossless and arithmetic-coded variants are not
 * accepted — browsers cannot show most of them). The entropy-coded data that follows cannot
 * contain 0xFFD9 (0xFF is byte-stuffed there), so an end-of-image marker after the first scan
 * proves the file is complete; bytes after it (phone vendors append metadata) are allowed.
 */
function readJpeg(b: Uint8Array): ImageHeader {
  let pos = 2
  let size: { width: number; height: number } | undefined
  let exif: ReturnType<typeof tiffOrientation>
  let exifSeen = false
  for (;;) {
    // Markers may be preceded by fill bytes (0xFF); anything else between segments is skipped,
    // as libjpeg does.
    while (pos < b.length && b[pos] !== 0xff) pos++
    while (pos < b.length && b[pos] === 0xff) pos++
    if (pos >= b.length) throw truncated('JPEG')
    const marker = b[pos]!
    pos++
    if (marker === 0xd9) throw corrupt('JPEG', 'image ends before any scan')
    // Standalone markers carry no length.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue
    if (pos + 2 > b.length) throw truncated('JPEG')
    const length = u16be(b, pos)
    if (length < 2) throw corrupt('JPEG', 'bad segment length')
    if (pos + length > b.length) throw truncated('JPEG')
    if (marker === 0xda) {
      if (!size) throw corrupt('JPEG', 'scan before frame header')
      if (!hasEndOfImage(b, pos + length)) throw truncated('JPEG')
      return {
        format: 'jpeg',
        ...size,
        orientation: exif?.value ?? 1,
        orientationTag: exif?.tag,
        frames: 1,
        framePixels: size.width * size.height,
      }
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (marker > 0xc2)
        throw new ImageHeaderError('unsupported', 'Lossless or arithmetic-coded JPEGs are not accepted')
      if (length < 8) throw corrupt('JPEG', 'short frame header')
      size = { height: u16be(b, pos + 3), width: u16be(b, pos + 5) }
      if (size.width === 0 || size.height === 0) throw corrupt('JPEG', 'zero dimension')
    } else if (marker === 0xe1 && !exifSeen && length >= 8 && ascii(b, pos + 2, 6) === 'Exif\0\0') {
      // Only the first EXIF segment counts, as in every decoder.
      exifSeen = true
      exif = tiffOrientation(b, pos + 8, length - 8)
    }
    pos += length
  }
}

function hasEndOfImage(b: Uint8Array, from: number): boolean {
  for (let i = b.length - 2; i >= from; i--) if (b[i] === 0xff && b[i + 1] === 0xd9) return true
  return false
}

/**
 * PNG: IHDR first, then every chunk up to IEND must fit in the file. Apple's "CgBI" PNGs are not
 * standard PNG and are refused; interlacing and bit depths are the decoder's business.
 */
function readPng(b: Uint8Array): ImageHeader {
  let pos = 8
  let size: { width: number; height: number } | undefined
  let exif: ReturnType<typeof tiffOrientation>
  let sawData = false
  for (;;) {
    if (pos + 12 > b.length) throw truncated('PNG')
    const length = u32be(b, pos)
    const type = ascii(b, pos + 4, 4)
    const data = pos + 8
    if (length > 0x7fffffff || data + length + 4 > b.length) throw truncated('PNG')
    if (!size) {
      if (type !== 'IHDR' || length < 13) throw corrupt('PNG', 'missing header chunk')
      size = { width: u32be(b, data), height: u32be(b, data + 4) }
      if (size.width === 0 || size.height === 0) throw corrupt('PNG', 'zero dimension')
    } else if (type === 'IDAT') {
      sawData = true
    } else if (type === 'eXIf' && !exif) {
      exif = tiffOrientation(b, data, length)
      if (exif) exif.tag.pngChunk = { start: pos, end: data + length }
    } else if (type === 'IEND') {
      if (!sawData) throw corrupt('PNG', 'no image data')
      return {
        format: 'png',
        ...size,
        orientation: exif?.value ?? 1,
        orientationTag: exif?.tag,
        frames: 1,
        framePixels: size.width * size.height,
      }
    }
    pos = data + length + 4
  }
}

/**
 * GIF: the logical screen, then every block to the trailer. Each frame's descriptor must lie
 * within the screen — a small screen with a huge frame is a classic decompression bomb.
 */
function readGif(b: Uint8Array): ImageHeader {
  if (b.length < 13) throw truncated('GIF')
  const width = u16le(b, 6)
  const height = u16le(b, 8)
  if (width === 0 || height === 0) throw corrupt('GIF', 'zero dimension')
  const colorTable = (flags: number) => (flags & 0x80 ? 3 * (1 << ((flags & 7) + 1)) : 0)
  let pos = 13 + colorTable(b[10]!)
  let frames = 0
  let framePixels = 0
  const skipSubBlocks = () => {
    for (;;) {
      if (pos >= b.length) throw truncated('GIF')
      const n = b[pos]!
      pos += 1 + n
      if (n === 0) return
    }
  }
  for (;;) {
    if (pos >= b.length) throw truncated('GIF')
    const block = b[pos]!
    if (block === 0x3b) {
      if (frames === 0) throw corrupt('GIF', 'no frames')
      return { format: 'gif', width, height, orientation: 1, frames, framePixels }
    }
    if (block === 0x21) {
      if (pos + 2 > b.length) throw truncated('GIF')
      pos += 2
      skipSubBlocks()
    } else if (block === 0x2c) {
      if (pos + 11 > b.length) throw truncated('GIF')
      const left = u16le(b, pos + 1)
      const top = u16le(b, pos + 3)
      const fw = u16le(b, pos + 5)
      const fh = u16le(b, pos + 7)
      if (fw === 0 || fh === 0 || left + fw > width || top + fh > height) {
        throw corrupt('GIF', 'a frame lies outside the image')
      }
      frames++
      framePixels += fw * fh
      // Descriptor, local color table, LZW minimum code size, then the data sub-blocks.
      pos += 10 + colorTable(b[pos + 9]!) + 1
      skipSubBlocks()
    } else {
      throw corrupt('GIF', `unknown block 0x${block.toString(16)}`)
    }
  }
}

/**
 * WebP: the RIFF container must be whole, and the bitstream header of the first image chunk
 * (lossy VP8, lossless VP8L, or the extended VP8X canvas) gives the size. Animation frames
 * (ANMF) must fit the canvas. EXIF, when present, is its own chunk.
 */
function readWebp(b: Uint8Array): ImageHeader {
  const riffEnd = 8 + u32le(b, 4)
  if (riffEnd > b.length) throw truncated('WebP')
  let pos = 12
  let size: { width: number; height: number } | undefined
  let extended = false
  let sawImage = false
  let frames = 0
  let exif: ReturnType<typeof tiffOrientation>
  while (pos + 8 <= riffEnd) {
    const type = ascii(b, pos, 4)
    const length = u32le(b, pos + 4)
    const data = pos + 8
    if (data + length > riffEnd) throw truncated('WebP')
    if (type === 'VP8X' && pos === 12) {
      if (length < 10) throw corrupt('WebP', 'short VP8X chunk')
      extended = true
      size = { width: 1 + u24le(b, data + 4), height: 1 + u24le(b, data + 7) }
    } else if (type === 'VP8 ' || type === 'VP8L') {
      const own = type === 'VP8 ' ? vp8Size(b, data, length) : vp8lSize(b, data, length)
      if (!extended) size = own
      else if (size && (own.width > size.width || own.height > size.height)) {
        throw corrupt('WebP', 'image larger than its canvas')
      }
      sawImage = true
      frames = Math.max(frames, 1)
    } else if (type === 'ANMF' && extended && size) {
      if (length < 16) throw corrupt('WebP', 'short frame')
      const x = 2 * u24le(b, data)
      const y = 2 * u24le(b, data + 3)
      const fw = 1 + u24le(b, data + 6)
      const fh = 1 + u24le(b, data + 9)
      if (x + fw > size.width || y + fh > size.height)
        throw corrupt('WebP', 'a frame lies outside the canvas')
      sawImage = true
      frames++
    } else if (type === 'EXIF' && !exif) {
      // Some writers keep the JPEG-style "Exif\0\0" prefix inside the chunk.
      const skip = length >= 6 && ascii(b, data, 6) === 'Exif\0\0' ? 6 : 0
      exif = tiffOrientation(b, data + skip, length - skip)
    }
    pos = data + length + (length & 1)
  }
  if (!size || !sawImage) throw corrupt('WebP', 'no image data')
  return {
    format: 'webp',
    ...size,
    orientation: exif?.value ?? 1,
    orientationTag: exif?.tag,
    frames,
    framePixels: size.width * size.height * frames,
  }
}

function vp8Size(b: Uint8Array, data: number, length: number) {
  // 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height (2 scaling bits each).
  if (length < 10 || b[data + 3] !== 0x9d || b[data + 4] !== 0x01 || b[data + 5] !== 0x2a) {
    throw corrupt('WebP', 'bad VP8 header')
  }
  const size = { width: u16le(b, data + 6) & 0x3fff, height: u16le(b, data + 8) & 0x3fff }
  if (size.width === 0 || size.height === 0) throw corrupt('WebP', 'zero dimension')
  return size
}

function vp8lSize(b: Uint8Array, data: number, length: number) {
  // Signature 0x2f, then 14 bits width − 1 and 14 bits height − 1, little-endian bit order.
  if (length < 5 || b[data] !== 0x2f) throw corrupt('WebP', 'bad VP8L header')
  const bits = u32le(b, data + 1)
  return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >>> 14) & 0x3fff) }
}
