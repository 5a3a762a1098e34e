import type { Pixels } from './png-pixels'

/**
 * Two cheap things done to JPEGs without decoding their pixels in full:
 *
 * - {@link jpegDcPixels}: the image at one eighth of its size, from the DC coefficient of each
 *   8 × 8 block (a block's DC coefficient is its average). Only the Huffman-coded stream is read;
 *   the inverse DCT, the costly part of a decode, never runs. Enough for a blurhash.
 * - {@link withoutJpegMetadata}: the same file minus its metadata segments (EXIF with its GPS
 *   position, XMP, IPTC, comments) and anything appended after the image, without re-encoding.
 *
 * Both read baseline and extended Huffman JPEGs (SOF0/SOF1); the dc reader returns null for
 * anything else (progressive, arithmetic-coded, 12-bit), and the caller renders another way.
 */

const SOI = 0xd8
const EOI = 0xd9
const SOS = 0xda

interface Segment {
  marker: number
  /** Offset of the 0xFF of the marker. */
  start: number
  /** Offset just past the segment (its length bytes included). */
  end: number
  /** Offset of the segment's payload (after the length). */
  body: number
}

/** The marker segments from SOI to the first SOS (inclusive); null when the file is not a JPEG. */
function headerSegments(b: Uint8Array): Segment[] | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== SOI) return null
  const segments: Segment[] = []
  let pos = 2
  for (;;) {
    while (pos < b.length && b[pos] !== 0xff) pos++
    const start = pos
    while (pos < b.length && b[pos] === 0xff) pos++
    if (pos + 2 >= b.length) return null
    const marker = b[pos]!
    pos++
    if (marker === EOI) return null
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue
    const length = (b[pos]! << 8) | b[pos + 1]!
    if (length < 2 || pos + length > b.length) return null
    segments.push({ marker, start, end: pos + length, body: pos + 2 })
    pos += length
    if (marker === SOS) return segments
  }
}

/**
 * Where the image ends: just past the EOI that closes the entropy-coded data starting at `from`,
 * skipping byte stuffing, restart markers and the segments between scans of a progressive file.
 * Null when there is no such EOI.
 */
function endOfImage(b: Uint8Array, from: number): number | null {
  let pos = from
  while (pos + 1 < b.length) {
    if (b[pos] !== 0xff) {
      pos++
      continue
    }
    const next = b[pos + 1]!
    if (next === 0x00 || next === 0xff || (next >= 0xd0 && next <= 0xd7)) {
      pos += next === 0xff ? 1 : 2
      continue
    }
    if (next === EOI) return pos + 2
    // A segment between scans (DHT, SOS, DRI, …): skip it whole.
    if (pos + 3 >= b.length) return null
    const length = (b[pos + 2]! << 8) | b[pos + 3]!
    if (length < 2) return null
    pos += 2 + length
  }
  return null
}

/**
 * The JPEG without its metadata: APP1 and APP3–APP13, APP15 (EXIF, XMP, IPTC, maker notes) and
 * comments are dropped, APP0 (JFIF), APP2 (the ICC colour profile) and APP14 (Adobe's colour
 * transform) kept since they change how the pixels look; bytes after the end of the image
 * (vendors append thumbnails or motion-photo videos there) are cut. The pixels are untouched.
 * Null when the file's structure cannot be followed, or its samples are not 8-bit greyscale or
 * YCbCr (a CMYK or 12-bit JPEG needs converting).
 *
 * @example
 * const clean = withoutJpegMetadata(upload) // same picture, no GPS position
 */
export function withoutJpegMetadata(b: Uint8Array): Uint8Array | null {
  const segments = headerSegments(b)
  if (!segments) return null
  // Only what every viewer shows as is: 8-bit greyscale or YCbCr (CMYK and 12-bit go to a render).
  const frame = segments.find((x) => x.marker >= 0xc0 && x.marker <= 0xc2)
  if (!frame || b[frame.body] !== 8 || (b[frame.body + 5] !== 1 && b[frame.body + 5] !== 3)) return null
  const sos = segments[segments.length - 1]!
  const end = endOfImage(b, sos.end)
  if (end === null) return null
  const keep = segments.filter(
    (s) =>
      !(
        s.marker === 0xfe ||
        (s.marker >= 0xe1 && s.marker <= 0xef && s.marker !== 0xe2 && s.marker !== 0xee)
      ),
  )
  const parts = [
    b.subarray(0, 2),
    ...keep.slice(0, -1).map((s) => b.subarray(s.start, s.end)),
    b.subarray(sos.start, end),
  ]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

interface Component {
  id: number
  h: number
  v: number
  tq: number
  /** DC predictor while reading the scan. */
  pred: number
  td: number
  ta: number
  /** Block grid of this component (covering whole MCUs) and each block's DC value. */
  blocksPerLine: number
  blocksPerColumn: number
  dc: Int16Array
}

/** A Huffman table in the form the JPEG standard decodes with (its Annex F). */
interface Huffman {
  /** By code length: the largest code of that length (−1: none), the smallest, and where its symbols start. */
  maxCode: Int32Array
  minCode: Int32Array
  offset: Int32Array
  symbols: Uint8Array
}

function huffmanTable(counts: Uint8Array, symbols: Uint8Array): Huffman {
  const maxCode = new Int32Array(18).fill(-1)
  const minCode = new Int32Array(18)
  const offset = new Int32Array(18)
  let code = 0
  let k = 0
  for (let length = 1; length <= 16; length++) {
    const n = counts[length - 1]!
    offset[length] = k
    minCode[length] = code
    code += n
    k += n
    if (n) maxCode[length] = code - 1
    code <<= 1
  }
  return { maxCode, minCode, offset, symbols }
}

/**
 * The image at 1/8 scale (one pixel per 8 × 8 block, rounded up) as RGBA, from the blocks' DC
 * coefficients. Null when the JPEG is not baseline or extended Huffman with 8-bit samples in one
 * or three components, or its scan cannot be read.
 *
 * @example
 * const small = jpegDcPixels(jpeg450) // 57 × 57
 * if (small) encodeBlurhash(small.data, small.width, small.height, 4, 4)
 */
export function jpegDcPixels(b: Uint8Array): Pixels | null {
  const segments = headerSegments(b)
  if (!segments) return null
  const quant = new Map<number, number>()
  const dcTables = new Map<number, Huffman>()
  const acTables = new Map<number, Huffman>()
  let components: Component[] = []
  let width = 0
  let height = 0
  let restartInterval = 0
  let scan: Component[] = []
  for (const s of segments) {
    const p = s.body
    if (s.marker === 0xdb) {
      for (let q = p; q < s.end;) {
        const precision = b[q]! >> 4
        // Only the first value (the DC quantiser) is needed.
        quant.set(b[q]! & 15, precision ? (b[q + 1]! << 8) | b[q + 2]! : b[q + 1]!)
        q += 1 + (precision ? 128 : 64)
      }
    } else if (s.marker === 0xc4) {
      for (let q = p; q + 17 <= s.end;) {
        const tc = b[q]! >> 4
        const th = b[q]! & 15
        const counts = b.subarray(q + 1, q + 17)
        const n = counts.reduce((t, c) => t + c, 0)
        const table = huffmanTable(counts, b.subarray(q + 17, q + 17 + n))
        ;(tc === 0 ? dcTables : acTables).set(th, table)
        q += 17 + n
      }
    } else if (s.marker === 0xdd) {
      restartInterval = (b[p]! << 8) | b[p + 1]!
    } else if (
      s.marker >= 0xc0 &&
      s.marker <= 0xcf &&
      s.marker !== 0xc4 &&
      s.marker !== 0xc8 &&
      s.marker !== 0xcc
    ) {
      if ((s.marker !== 0xc0 && s.marker !== 0xc1) || b[p] !== 8) return null
      height = (b[p + 1]! << 8) | b[p + 2]!
      width = (b[p + 3]! << 8) | b[p + 4]!
      const n = b[p + 5]!
      if (n !== 1 && n !== 3) return null
      components = Array.from({ length: n }, (_, i) => ({
        id: b[p + 6 + i * 3]!,
        h: b[p + 7 + i * 3]! >> 4,
        v: b[p + 7 + i * 3]! & 15,
        tq: b[p + 8 + i * 3]!,
        pred: 0,
        td: 0,
        ta: 0,
        blocksPerLine: 0,
        blocksPerColumn: 0,
        dc: new Int16Array(0),
      }))
    } else if (s.marker === SOS) {
      const n = b[p]!
      scan = []
      for (let i = 0; i < n; i++) {
        const c = components.find((x) => x.id === b[p + 1 + i * 2])
        if (!c) return null
        c.td = b[p + 2 + i * 2]! >> 4
        c.ta = b[p + 2 + i * 2]! & 15
        scan.push(c)
      }
      // Spectral selection must cover the whole block in one sequential scan.
      if (b[p + 1 + n * 2] !== 0 || b[p + 2 + n * 2] !== 63) return null
    }
  }
  if (!width || !height || scan.length !== components.length) return null
  const hMax = Math.max(...components.map((c) => c.h))
  const vMax = Math.max(...components.map((c) => c.v))
  if (components.some((c) => c.h < 1 || c.v < 1)) return null
  const mcusPerLine = Math.ceil(width / 8 / hMax)
  const mcusPerColumn = Math.ceil(height / 8 / vMax)
  for (const c of components) {
    c.blocksPerLine = mcusPerLine * c.h
    c.blocksPerColumn = mcusPerColumn * c.v
    c.dc = new Int16Array(c.blocksPerLine * c.blocksPerColumn)
    if (!dcTables.has(c.td) || !acTables.has(c.ta) || !quant.has(c.tq)) return null
  }

  // Bit reader over the entropy-coded data: 0xFF00 is a stuffed 0xFF; a marker ends the data.
  let pos = segments[segments.length - 1]!.end
  let bits = 0
  let bitCount = 0
  const readBit = (): number => {
    if (bitCount === 0) {
      if (pos >= b.length) throw new Error('scan ends early')
      bits = b[pos++]!
      if (bits === 0xff) {
        const next = b[pos]
        if (next === 0) pos++
        else throw new Error('marker inside the scan')
      }
      bitCount = 8
    }
    bitCount--
    return (bits >> bitCount) & 1
  }
  const receive = (n: number): number => {
    let v = 0
    for (let i = 0; i < n; i++) v = (v << 1) | readBit()
    return v
  }
  const decode = (t: Huffman): number => {
    let code = readBit()
    let length = 1
    while (code > t.maxCode[length]!) {
      code = (code << 1) | readBit()
      if (++length > 16) throw new Error('bad Huffman code')
    }
    const symbol = t.symbols[t.offset[length]! + code - t.minCode[length]!]
    if (symbol === undefined) throw new Error('bad Huffman code')
    return symbol
  }
  const extend = (v: number, n: number) => (n === 0 ? 0 : v < 1 << (n - 1) ? v - (1 << n) + 1 : v)
  const readBlock = (c: Component, index: number) => {
    const s = decode(dcTables.get(c.td)!)
    c.pred += extend(receive(s), s)
    c.dc[index] = c.pred
    const ac = acTables.get(c.ta)!
    for (let k = 1; k < 64;) {
      const rs = decode(ac)
      const r = rs >> 4
      const size = rs & 15
      if (size === 0) {
        if (r !== 15) break
        k += 16
        continue
      }
      receive(size)
      k += r + 1
    }
  }
  const restart = () => {
    // Byte-align, then expect RSTn.
    bitCount = 0
    while (pos < b.length && b[pos] === 0xff) pos++
    if (pos < b.length && b[pos]! >= 0xd0 && b[pos]! <= 0xd7) pos++
    else throw new Error('restart marker missing')
    for (const c of components) c.pred = 0
  }

  try {
    // A single-component scan is not interleaved: one block per MCU, in raster order.
    const perLine = Math.ceil(width / 8)
    const total = scan.length === 1 ? perLine * Math.ceil(height / 8) : mcusPerLine * mcusPerColumn
    for (let mcu = 0; mcu < total; mcu++) {
      if (restartInterval && mcu > 0 && mcu % restartInterval === 0) restart()
      const row = Math.floor(mcu / mcusPerLine)
      const col = mcu % mcusPerLine
      if (scan.length === 1) {
        const c = scan[0]!
        readBlock(c, Math.floor(mcu / perLine) * c.blocksPerLine + (mcu % perLine))
        continue
      }
      for (const c of scan) {
        for (let y = 0; y < c.v; y++) {
          for (let x = 0; x < c.h; x++) {
            readBlock(c, (row * c.v + y) * c.blocksPerLine + col * c.h + x)
          }
        }
      }
    }
  } catch {
    return null
  }

  // One pixel per luma-resolution block: a block's average sample is DC × Q0 / 8 + 128.
  const outWidth = Math.ceil(width / 8)
  const outHeight = Math.ceil(height / 8)
  const data = new Uint8ClampedArray(outWidth * outHeight * 4)
  const sample = (c: Component, x: number, y: number) => {
    const bx = Math.floor((x * c.h) / hMax)
    const by = Math.floor((y * c.v) / vMax)
    return (c.dc[by * c.blocksPerLine + bx]! * quant.get(c.tq)!) / 8 + 128
  }
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const o = (y * outWidth + x) * 4
      const luma = sample(components[0]!, x, y)
      if (components.length === 1) {
        data[o] = data[o + 1] = data[o + 2] = luma
      } else {
        // JFIF's YCbCr → RGB.
        const cb = sample(components[1]!, x, y) - 128
        const cr = sample(components[2]!, x, y) - 128
        data[o] = luma + 1.402 * cr
        data[o + 1] = luma - 0.344136 * cb - 0.714136 * cr
        data[o + 2] = luma + 1.772 * cb
      }
      data[o + 3] = 255
    }
  }
  return { width: outWidth, height: outHeight, data }
}
