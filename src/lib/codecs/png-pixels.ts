/**
 * Decode a small PNG into RGBA pixels, for the blurhash of a photo: the Images binding renders a
 * 32 × 32 PNG and this turns it back into pixels inside the Worker. The platform's
 * `DecompressionStream('deflate')` inflates (PNG data is a zlib stream), so what is left is the
 * PNG filter step — a few dozen lines, no dependency and nothing in the bundle. Raw `rgba`
 * output from the binding would skip even that, but its local stand-in refuses that format.
 *
 * Supported: non-interlaced, bit depth 8 (or 16, reduced to 8), every colour type. The binding
 * never emits anything else for a 32 × 32 render; other inputs are refused, not guessed at.
 */

export interface Pixels {
  width: number
  height: number
  /** RGBA, 4 bytes per pixel, row by row. */
  data: Uint8ClampedArray
}

/** Refuse to inflate anything larger than this: a blurhash source is tiny. */
const maxPixels = 1024 * 1024

/**
 * @example
 * const { width, height, data } = await decodePng(new Uint8Array(await result.response().arrayBuffer()))
 * encode(data, width, height, 4, 4)
 */
export async function decodePng(png: Uint8Array): Promise<Pixels> {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength)
  if (png.length < 8 || view.getUint32(0) !== 0x89504e47 || view.getUint32(4) !== 0x0d0a1a0a) {
    throw new Error('Not a PNG')
  }
  let width = 0
  let height = 0
  let depth = 0
  let colorType = 0
  let palette: Uint8Array | undefined
  let transparency: Uint8Array | undefined
  const idat: Uint8Array[] = []
  for (let pos = 8; pos + 12 <= png.length;) {
    const length = view.getUint32(pos)
    const type = String.fromCharCode(...png.subarray(pos + 4, pos + 8))
    const data = png.subarray(pos + 8, pos + 8 + length)
    if (data.length !== length) throw new Error('Truncated PNG')
    if (type === 'IHDR') {
      width = view.getUint32(pos + 8)
      height = view.getUint32(pos + 12)
      depth = data[8]!
      colorType = data[9]!
      if (data[12] !== 0) throw new Error('Interlaced PNGs are not supported')
    } else if (type === 'PLTE') palette = data
    else if (type === 'tRNS') transparency = data
    else if (type === 'IDAT') idat.push(data)
    else if (type === 'IEND') break
    pos += 12 + length
  }
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType]
  if (!channels || (depth !== 8 && !(depth === 16 && colorType !== 3))) {
    throw new Error(`Unsupported PNG: colour type ${colorType}, depth ${depth}`)
  }
  if (width === 0 || height === 0 || width * height > maxPixels) throw new Error('Bad PNG size')
  if (colorType === 3 && !palette) throw new Error('PNG palette missing')

  const inflated = new Uint8Array(
    await new Response(
      new Blob(idat.map((chunk) => chunk.slice())).stream().pipeThrough(new DecompressionStream('deflate')),
    ).arrayBuffer(),
  )
  const bpp = (channels * depth) / 8
  const stride = width * bpp
  if (inflated.length < (stride + 1) * height) throw new Error('Truncated PNG data')

  // Undo the per-row filters (PNG spec §9), row by row.
  const raw = new Uint8Array(stride * height)
  for (let y = 0; y < height; y++) {
    const filter = inflated[y * (stride + 1)]!
    const src = inflated.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    const row = raw.subarray(y * stride, (y + 1) * stride)
    const up = y > 0 ? raw.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride)
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? row[i - bpp]! : 0
      const b = up[i]!
      const c = i >= bpp ? up[i - bpp]! : 0
      let predictor: number
      switch (filter) {
        case 0:
          predictor = 0
          break
        case 1:
          predictor = a
          break
        case 2:
          predictor = b
          break
        case 3:
          predictor = (a + b) >> 1
          break
        case 4: {
          const p = a + b - c
          const pa = Math.abs(p - a)
          const pb = Math.abs(p - b)
          const pc = Math.abs(p - c)
          predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
          break
        }
        default:
          throw new Error(`Bad PNG filter ${filter}`)
      }
      row[i] = (src[i]! + predictor) & 0xff
    }
  }

  const out = new Uint8ClampedArray(width * height * 4)
  const step = depth / 8
  // The high byte of a 16-bit sample is its 8-bit value.
  const sample = (pixel: number, channel: number) => raw[(pixel * channels + channel) * step]!
  for (let p = 0; p < width * height; p++) {
    const o = p * 4
    if (colorType === 3) {
      const index = raw[p]!
      out[o] = palette![index * 3] ?? 0
      out[o + 1] = palette![index * 3 + 1] ?? 0
      out[o + 2] = palette![index * 3 + 2] ?? 0
      out[o + 3] = transparency?.[index] ?? 255
    } else if (colorType === 0 || colorType === 4) {
      const grey = sample(p, 0)
      out[o] = out[o + 1] = out[o + 2] = grey
      out[o + 3] = colorType === 4 ? sample(p, 1) : 255
    } else {
      out[o] = sample(p, 0)
      out[o + 1] = sample(p, 1)
      out[o + 2] = sample(p, 2)
      out[o + 3] = colorType === 6 ? sample(p, 3) : 255
    }
  }
  return { width, height, data: out }
}
